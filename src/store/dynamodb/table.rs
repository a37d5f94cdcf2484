//! Creating the table, for local runs and tests (Terraform owns it in production).

use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType, TableStatus,
    TimeToLiveSpecification,
};

use super::super::StoreError;
use super::error::backend;
use super::item::{EXPIRES_AT, PK, SK};

/// How long a new table may take to become active.
const ACTIVE_WITHIN: Duration = Duration::from_secs(120);

/// Creates the session table if it does not exist: `pk` (string) as partition key, `sk`
/// (string) as sort key, on-demand capacity, TTL on `expires_at`. Returns `false` if the
/// table was already there (it is then left as it is).
pub async fn create_table(client: &Client, name: &str) -> Result<bool, StoreError> {
    let definition = |attribute: &str| {
        AttributeDefinition::builder()
            .attribute_name(attribute)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .map_err(|e| StoreError::Backend(e.to_string()))
    };
    let key = |attribute: &str, kind: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(attribute)
            .key_type(kind)
            .build()
            .map_err(|e| StoreError::Backend(e.to_string()))
    };
    let created = client
        .create_table()
        .table_name(name)
        .attribute_definitions(definition(PK)?)
        .attribute_definitions(definition(SK)?)
        .key_schema(key(PK, KeyType::Hash)?)
        .key_schema(key(SK, KeyType::Range)?)
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await;
    match created {
        Ok(_) => {}
        Err(e)
            if e.as_service_error().and_then(ProvideErrorMetadata::code)
                == Some("ResourceInUseException") =>
        {
            return Ok(false);
        }
        Err(e) => return Err(backend(e)),
    }
    wait_until_active(client, name).await?;
    let ttl = TimeToLiveSpecification::builder()
        .enabled(true)
        .attribute_name(EXPIRES_AT)
        .build()
        .map_err(|e| StoreError::Backend(e.to_string()))?;
    client
        .update_time_to_live()
        .table_name(name)
        .time_to_live_specification(ttl)
        .send()
        .await
        .map_err(backend)?;
    Ok(true)
}

async fn wait_until_active(client: &Client, name: &str) -> Result<(), StoreError> {
    let deadline = tokio::time::Instant::now() + ACTIVE_WITHIN;
    loop {
        let described = client
            .describe_table()
            .table_name(name)
            .send()
            .await
            .map_err(backend)?;
        let status = described.table().and_then(|t| t.table_status());
        if status == Some(&TableStatus::Active) {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(StoreError::Backend(format!(
                "table {name} did not become active within {ACTIVE_WITHIN:?}"
            )));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
