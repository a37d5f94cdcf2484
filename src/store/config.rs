//! Choosing and building the session store from flags and environment.

use std::sync::Arc;
use std::time::Duration;

use clap::{Args, ValueEnum};

use super::dynamodb::{self, DynamoStore};
use super::{MemoryStore, SessionStore, StoreError};

/// Where legacy sessions live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StoreKind {
    /// In this process: one instance only, lost on restart.
    Memory,
    /// In a DynamoDB table shared by every instance (Lambda).
    #[value(name = "dynamodb")]
    DynamoDb,
}

/// Session store flags. Every flag has an environment equivalent.
#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    /// Where legacy sessions live: `memory` (one process) or `dynamodb` (shared by every
    /// instance; AWS settings come from the standard AWS environment, including
    /// `AWS_ENDPOINT_URL`).
    #[arg(
        long = "session-store",
        env = "MCP_SESSION_STORE",
        value_enum,
        default_value = "memory"
    )]
    pub kind: StoreKind,

    /// The DynamoDB table (required with `--session-store dynamodb`).
    #[arg(
        long = "dynamodb-table",
        env = "MCP_SESSION_TABLE",
        value_name = "NAME"
    )]
    pub dynamodb_table: Option<String>,

    /// Milliseconds between a waiting reader's looks at the table for changes made by other
    /// instances (changes made by this instance wake readers at once).
    #[arg(
        long = "store-poll-ms",
        env = "MCP_STORE_POLL_MS",
        default_value_t = 100
    )]
    pub poll_ms: u64,

    /// Create the DynamoDB table at start-up if it is missing (local use; in production the
    /// table is created by Terraform).
    #[arg(long = "create-table", env = "MCP_CREATE_TABLE")]
    pub create_table: bool,
}

/// A store configuration that cannot work, or a table that could not be created.
#[derive(Debug, thiserror::Error)]
pub enum StoreConfigError {
    #[error("--session-store dynamodb needs a table: set --dynamodb-table or MCP_SESSION_TABLE")]
    MissingTable,
    #[error("--store-poll-ms must be between 1 and 60000")]
    PollInterval,
    #[error("--create-table needs --session-store dynamodb")]
    CreateTableWithoutDynamoDb,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl StoreArgs {
    /// Checks the flags without touching the network.
    pub fn validate(&self) -> Result<(), StoreConfigError> {
        if !(1..=60_000).contains(&self.poll_ms) {
            return Err(StoreConfigError::PollInterval);
        }
        match self.kind {
            StoreKind::Memory if self.create_table => {
                Err(StoreConfigError::CreateTableWithoutDynamoDb)
            }
            StoreKind::Memory => Ok(()),
            StoreKind::DynamoDb => self.table().map(|_| ()),
        }
    }

    /// Builds the store. Makes no network request, except to create the table when
    /// `--create-table` is given.
    pub async fn build(&self) -> Result<Arc<dyn SessionStore>, StoreConfigError> {
        self.validate()?;
        match self.kind {
            StoreKind::Memory => Ok(Arc::new(MemoryStore::new())),
            StoreKind::DynamoDb => {
                let table = self.table()?;
                let client = dynamodb::client_from_env().await?;
                if self.create_table && dynamodb::create_table(&client, table).await? {
                    tracing::info!(table, "created the session table");
                }
                let store = DynamoStore::new(client, table)
                    .with_poll_interval(Duration::from_millis(self.poll_ms));
                Ok(Arc::new(store))
            }
        }
    }

    fn table(&self) -> Result<&str, StoreConfigError> {
        self.dynamodb_table
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(StoreConfigError::MissingTable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        store: StoreArgs,
    }

    fn parse(args: &[&str]) -> StoreArgs {
        Cli::try_parse_from(std::iter::once("test").chain(args.iter().copied()))
            .unwrap()
            .store
    }

    #[test]
    fn defaults_to_memory() {
        let args = parse(&[]);
        assert_eq!(args.kind, StoreKind::Memory);
        assert_eq!(args.poll_ms, 100);
        assert!(!args.create_table);
        assert!(args.validate().is_ok());
    }

    #[test]
    fn dynamodb_needs_a_table() {
        let args = parse(&["--session-store", "dynamodb"]);
        assert!(matches!(
            args.validate(),
            Err(StoreConfigError::MissingTable)
        ));
        let args = parse(&["--session-store", "dynamodb", "--dynamodb-table", "t"]);
        assert!(args.validate().is_ok());
    }

    #[test]
    fn rejects_flags_that_cannot_work() {
        let args = parse(&["--store-poll-ms", "0"]);
        assert!(matches!(
            args.validate(),
            Err(StoreConfigError::PollInterval)
        ));
        let args = parse(&["--create-table"]);
        assert!(matches!(
            args.validate(),
            Err(StoreConfigError::CreateTableWithoutDynamoDb)
        ));
    }

    #[tokio::test]
    async fn builds_a_memory_store() {
        assert!(parse(&[]).build().await.is_ok());
    }
}
