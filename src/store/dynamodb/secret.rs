//! Secrets every instance on one table shares (the key that seals `requestState`): created
//! once by whichever instance asks first, with a conditional write, and read by all others.

use aws_sdk_dynamodb::types::AttributeValue;

use super::super::StoreError;
use super::super::records::unix_now;
use super::DynamoStore;
use super::error::{backend, is_condition_failure};
use super::item::{self, Item};

/// The sort key of a secret's item.
const SECRET_SK: &str = "SECRET";
/// The attribute holding the secret (64 hex digits: 32 random bytes).
const SECRET: &str = "secret";
/// When the secret was created (seconds since the Unix epoch), for operators.
const CREATED_AT: &str = "created_at";

/// The partition key of the secret `name`: `K#<name>`, apart from every session's `S#…`.
fn secret_pk(name: &str) -> String {
    format!("K#{name}")
}

/// 32 random bytes as 64 lowercase hex digits.
fn fresh_secret() -> String {
    use rand::RngCore;
    use std::fmt::Write;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().fold(String::with_capacity(64), |mut hex, b| {
        let _ = write!(hex, "{b:02x}");
        hex
    })
}

impl DynamoStore {
    /// The secret `name` of this table, created now if no instance has created it yet. Every
    /// store on the table gets the same value: the first `PutItem` wins
    /// (`attribute_not_exists(pk)`), and a writer that loses reads the winner's. The item has
    /// no `expires_at`, so TTL never deletes it.
    ///
    /// Costs one strongly consistent `GetItem`; the first time ever, also one `PutItem` (and
    /// one more `GetItem` for an instance that loses the race).
    pub(super) async fn shared_secret_item(&self, name: &str) -> Result<Vec<u8>, StoreError> {
        if let Some(secret) = self.read_secret(name).await? {
            return Ok(secret);
        }
        let secret = fresh_secret();
        let mut new: Item = item::key(secret_pk(name), SECRET_SK.to_owned());
        new.insert(SECRET.to_owned(), AttributeValue::S(secret.clone()));
        new.insert(CREATED_AT.to_owned(), item::n(unix_now()));
        self.calls.put();
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(new))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match put {
            Ok(_) => {
                tracing::info!(name, table = %self.table, "created the shared secret");
                Ok(secret.into_bytes())
            }
            // Another instance created it first (or the SDK retried our own write): theirs.
            Err(e) if is_condition_failure(&e) => self.read_secret(name).await?.ok_or_else(|| {
                StoreError::Backend(format!(
                    "the shared secret {name} exists but cannot be read back"
                ))
            }),
            Err(e) => Err(backend(e)),
        }
    }

    async fn read_secret(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.calls.get();
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(item::key(secret_pk(name), SECRET_SK.to_owned())))
            .consistent_read(true)
            .send()
            .await
            .map_err(backend)?;
        let Some(found) = output.item else {
            return Ok(None);
        };
        let secret = item::get_s(&found, SECRET)?;
        if secret.len() < 32 {
            return Err(StoreError::Backend(format!(
                "the shared secret {name} in {} is shorter than 32 characters",
                self.table
            )));
        }
        Ok(Some(secret.as_bytes().to_vec()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_secrets_are_64_hex_digits_and_differ() {
        let a = fresh_secret();
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(a, fresh_secret());
        assert_eq!(secret_pk("request-state"), "K#request-state");
    }
}
