//! Choosing and building the session store from flags and environment.

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
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

    /// The longest a reader that keeps finding nothing waits between looks at the table, in
    /// milliseconds: the wait starts at --store-poll-ms and doubles after each look that finds
    /// nothing, back to the start when something arrives. An idle stream then costs about
    /// 60 000 / this reads a minute, and an event another instance writes after an idle spell
    /// reaches the reader at most this much later.
    #[arg(
        long = "store-poll-max-ms",
        env = "MCP_STORE_POLL_MAX_MS",
        default_value_t = 10_000
    )]
    pub poll_max_ms: u64,

    /// Milliseconds one DynamoDB request attempt may take before the SDK gives up on it (and
    /// retries, within the operation timeout).
    #[arg(
        long = "store-attempt-timeout-ms",
        env = "MCP_STORE_ATTEMPT_TIMEOUT_MS",
        default_value_t = 2000
    )]
    pub attempt_timeout_ms: u64,

    /// Milliseconds one DynamoDB operation may take, retries included. Past it the request
    /// that needed the store is answered 503 with `Retry-After`.
    #[arg(
        long = "store-operation-timeout-ms",
        env = "MCP_STORE_OPERATION_TIMEOUT_MS",
        default_value_t = 5000
    )]
    pub operation_timeout_ms: u64,

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
    #[error("--store-poll-max-ms must be between --store-poll-ms and 600000")]
    PollMax,
    #[error(
        "--store-attempt-timeout-ms must be at least 100 and at most --store-operation-timeout-ms, which must be at most 60000"
    )]
    Timeouts,
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
        if !(self.poll_ms..=600_000).contains(&self.poll_max_ms) {
            return Err(StoreConfigError::PollMax);
        }
        if self.attempt_timeout_ms < 100
            || self.attempt_timeout_ms > self.operation_timeout_ms
            || self.operation_timeout_ms > 60_000
        {
            return Err(StoreConfigError::Timeouts);
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
                let client = self.with_timeouts(&dynamodb::client_from_env().await?);
                if self.create_table && dynamodb::create_table(&client, table).await? {
                    tracing::info!(table, "created the session table");
                }
                let store = DynamoStore::new(client, table)
                    .with_poll_interval(Duration::from_millis(self.poll_ms))
                    .with_max_poll_interval(Duration::from_millis(self.poll_max_ms));
                Ok(Arc::new(store))
            }
        }
    }

    /// `client` with this configuration's operation and attempt timeouts, so that no store
    /// call outlives them (an unreachable table costs a request at most the operation timeout);
    /// retries stay the SDK's.
    pub fn with_timeouts(&self, client: &Client) -> Client {
        let timeouts = TimeoutConfig::builder()
            .operation_attempt_timeout(Duration::from_millis(self.attempt_timeout_ms))
            .operation_timeout(Duration::from_millis(self.operation_timeout_ms))
            .build();
        let config = client
            .config()
            .to_builder()
            .timeout_config(timeouts)
            .build();
        Client::from_conf(config)
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
        assert_eq!(args.poll_max_ms, 10_000);
        assert!(!args.create_table);
        assert_eq!(args.attempt_timeout_ms, 2000);
        assert_eq!(args.operation_timeout_ms, 5000);
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
        for timeouts in [
            &["--store-attempt-timeout-ms", "50"][..],
            &["--store-attempt-timeout-ms", "6000"],
            &["--store-operation-timeout-ms", "120000"],
        ] {
            assert!(matches!(
                parse(timeouts).validate(),
                Err(StoreConfigError::Timeouts)
            ));
        }
        for poll in [
            &["--store-poll-max-ms", "50"][..],
            &["--store-poll-ms", "500", "--store-poll-max-ms", "400"],
            &["--store-poll-max-ms", "700000"],
        ] {
            assert!(matches!(
                parse(poll).validate(),
                Err(StoreConfigError::PollMax)
            ));
        }
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
