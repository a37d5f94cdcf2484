//! The task records of the session store ([`TaskStore`]), run against both implementations:
//! the in-memory store, and two DynamoDB store objects on one table (moto), as two Lambda
//! instances would hold. What the tasks of `server::tasks` rely on: a created task is read
//! back at once by either handle, an expired one reads as gone, of two replacements of
//! one version only one is stored, an owner's tasks are listed (2025-11-25 `tasks/list`),
//! and a creation that fails holds none of its owner's places.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use bedrock_usage_mcp::store::dynamodb::{MAX_ITEM_BYTES, create_table};
use bedrock_usage_mcp::store::{
    DynamoStore, MAX_TASKS_PER_OWNER, MemoryStore, SessionStore, StoreError, TaskId, TaskRecord,
    unix_now_ms,
};
use mcp_testkit::moto::{Moto, unique_table};

/// Two handles on one store (the same object for the memory store).
async fn stores(
    dynamo: bool,
) -> (
    Arc<dyn SessionStore>,
    Arc<dyn SessionStore>,
    Option<Arc<Moto>>,
) {
    if !dynamo {
        let store: Arc<dyn SessionStore> = Arc::new(MemoryStore::new());
        return (store.clone(), store, None);
    }
    let moto = Moto::shared();
    let client = moto.dynamodb();
    let table = unique_table("tasks");
    assert!(create_table(&client, &table).await.unwrap());
    let a = Arc::new(DynamoStore::new(client.clone(), &table));
    let b = Arc::new(DynamoStore::new(client, &table));
    (a, b, Some(moto))
}

fn task(ttl_ms: i64, data: &str) -> TaskRecord {
    TaskRecord {
        id: TaskId::generate(),
        owner: "session:abc".to_owned(),
        version: 1,
        expires_at_ms: unix_now_ms().saturating_add_signed(ttl_ms),
        data: data.to_owned(),
    }
}

async fn created_tasks_are_read_by_either_handle(dynamo: bool) {
    let (a, b, _moto) = stores(dynamo).await;
    let record = task(60_000, r#"{"status":"working"}"#);
    a.tasks().unwrap().create_task(&record).await.unwrap();
    assert_eq!(
        b.tasks().unwrap().load_task(&record.id).await.unwrap(),
        Some(record.clone())
    );
    let again = b.tasks().unwrap().create_task(&record).await;
    assert!(
        matches!(again, Err(StoreError::AlreadyExists(_))),
        "{again:?}"
    );
    let unknown = TaskId::generate();
    assert_eq!(a.tasks().unwrap().load_task(&unknown).await.unwrap(), None);
}

async fn one_of_two_racing_replacements_is_stored(dynamo: bool) {
    let (a, b, _moto) = stores(dynamo).await;
    let record = task(60_000, "v1");
    a.tasks().unwrap().create_task(&record).await.unwrap();
    let from_a = TaskRecord {
        version: 2,
        data: "a".into(),
        ..record.clone()
    };
    let from_b = TaskRecord {
        version: 2,
        data: "b".into(),
        ..record.clone()
    };
    let (won_a, won_b) = tokio::join!(
        a.tasks().unwrap().replace_task(&from_a),
        b.tasks().unwrap().replace_task(&from_b)
    );
    let (won_a, won_b) = (won_a.unwrap(), won_b.unwrap());
    assert!(
        won_a ^ won_b,
        "exactly one replacement wins: a {won_a}, b {won_b}"
    );
    let stored = a
        .tasks()
        .unwrap()
        .load_task(&record.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored, if won_a { from_a } else { from_b });
    // A replacement skipping a version is refused too.
    let skipping = TaskRecord {
        version: 4,
        ..stored.clone()
    };
    assert!(!b.tasks().unwrap().replace_task(&skipping).await.unwrap());
    let next = TaskRecord {
        version: 3,
        data: "c".into(),
        ..stored
    };
    assert!(b.tasks().unwrap().replace_task(&next).await.unwrap());
}

async fn expired_tasks_are_gone(dynamo: bool) {
    let (a, _b, _moto) = stores(dynamo).await;
    let record = task(-1, "old");
    a.tasks().unwrap().create_task(&record).await.unwrap();
    assert_eq!(
        a.tasks().unwrap().load_task(&record.id).await.unwrap(),
        None
    );
    let next = TaskRecord {
        version: 2,
        ..record.clone()
    };
    assert!(!a.tasks().unwrap().replace_task(&next).await.unwrap());
    // Its id may be taken again.
    let fresh = TaskRecord {
        expires_at_ms: unix_now_ms() + 60_000,
        ..record
    };
    a.tasks().unwrap().create_task(&fresh).await.unwrap();
}

async fn oversized_tasks_are_refused(dynamo: bool) {
    let (a, _b, _moto) = stores(dynamo).await;
    let record = task(60_000, &"x".repeat(MAX_ITEM_BYTES));
    let refused = a.tasks().unwrap().create_task(&record).await;
    assert!(
        matches!(refused, Err(StoreError::TooLarge { .. })),
        "{refused:?}"
    );
}

/// An owner holds at most `MAX_TASKS_PER_OWNER` live tasks, counted across both handles
/// (two instances); expired ones do not count, and other owners are not affected.
async fn an_owner_holds_a_bounded_number_of_live_tasks(dynamo: bool) {
    let (a, b, _moto) = stores(dynamo).await;
    for i in 0..MAX_TASKS_PER_OWNER {
        let store = if i % 2 == 0 { &a } else { &b };
        store
            .tasks()
            .unwrap()
            .create_task(&task(60_000, "{}"))
            .await
            .unwrap();
    }
    for store in [&a, &b] {
        let refused = store
            .tasks()
            .unwrap()
            .create_task(&task(60_000, "{}"))
            .await;
        match refused {
            Err(StoreError::Full(message)) => assert!(message.contains("live tasks"), "{message}"),
            other => panic!("expected Full, got {other:?}"),
        }
    }
    let other = TaskRecord {
        owner: "session:other".to_owned(),
        ..task(60_000, "{}")
    };
    b.tasks().unwrap().create_task(&other).await.unwrap();

    // Expired tasks leave room.
    let (a, _b, _moto) = stores(dynamo).await;
    for _ in 0..MAX_TASKS_PER_OWNER {
        a.tasks()
            .unwrap()
            .create_task(&task(-1_000, "{}"))
            .await
            .unwrap();
    }
    a.tasks()
        .unwrap()
        .create_task(&task(60_000, "{}"))
        .await
        .unwrap();
}

/// `list_tasks` gives an owner's live tasks, created through either handle, and no one
/// else's; expired ones are not listed.
async fn an_owners_live_tasks_are_listed(dynamo: bool) {
    let (a, b, _moto) = stores(dynamo).await;
    let mut mine = Vec::new();
    for i in 0..5 {
        let store = if i % 2 == 0 { &a } else { &b };
        let record = task(60_000, "{}");
        store.tasks().unwrap().create_task(&record).await.unwrap();
        mine.push(record.id);
    }
    a.tasks()
        .unwrap()
        .create_task(&task(-1_000, "{}"))
        .await
        .unwrap();
    let other = TaskRecord {
        owner: "session:other".to_owned(),
        ..task(60_000, "{}")
    };
    b.tasks().unwrap().create_task(&other).await.unwrap();

    for store in [&a, &b] {
        let mut listed = store
            .tasks()
            .unwrap()
            .list_tasks("session:abc")
            .await
            .unwrap();
        listed.sort();
        mine.sort();
        assert_eq!(listed, mine);
        let theirs = store
            .tasks()
            .unwrap()
            .list_tasks("session:other")
            .await
            .unwrap();
        assert_eq!(theirs, vec![other.id.clone()]);
        assert!(
            store
                .tasks()
                .unwrap()
                .list_tasks("session:nobody")
                .await
                .unwrap()
                .is_empty()
        );
    }
}

/// A creation refused because its id is taken (by another owner's task) leaves the owner's
/// places as they were: it is not listed, and all `MAX_TASKS_PER_OWNER` places stay free.
async fn a_refused_creation_keeps_no_place(dynamo: bool) {
    let (a, b, _moto) = stores(dynamo).await;
    let taken = TaskRecord {
        owner: "session:first".to_owned(),
        ..task(60_000, "{}")
    };
    a.tasks().unwrap().create_task(&taken).await.unwrap();
    let clash = TaskRecord {
        id: taken.id.clone(),
        ..task(60_000, "{}")
    };
    let refused = b.tasks().unwrap().create_task(&clash).await;
    assert!(
        matches!(refused, Err(StoreError::AlreadyExists(_))),
        "{refused:?}"
    );
    assert!(
        a.tasks()
            .unwrap()
            .list_tasks("session:abc")
            .await
            .unwrap()
            .is_empty()
    );
    fill_every_place(&a).await;
}

/// Creates `MAX_TASKS_PER_OWNER` tasks for the test owner (all must fit), then checks the
/// next is refused.
async fn fill_every_place(store: &Arc<dyn SessionStore>) {
    for i in 0..MAX_TASKS_PER_OWNER {
        let created = store
            .tasks()
            .unwrap()
            .create_task(&task(60_000, "{}"))
            .await;
        assert!(created.is_ok(), "place {i}: {created:?}");
    }
    let over = store
        .tasks()
        .unwrap()
        .create_task(&task(60_000, "{}"))
        .await;
    assert!(matches!(over, Err(StoreError::Full(_))), "{over:?}");
}

/// A DynamoDB client whose `PutItem` of a task record (`T#…`) fails before it is sent, as
/// a throttled or unreachable table would fail it; every other call goes through.
fn failing_task_writes(client: &aws_sdk_dynamodb::Client) -> aws_sdk_dynamodb::Client {
    use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
    use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
    use aws_sdk_dynamodb::error::BoxError;

    #[derive(Debug)]
    struct FailTaskWrites;
    impl Intercept for FailTaskWrites {
        fn name(&self) -> &'static str {
            "FailTaskWrites"
        }
        fn read_before_transmit(
            &self,
            context: &BeforeTransmitInterceptorContextRef<'_>,
            _: &RuntimeComponents,
            _: &mut ConfigBag,
        ) -> Result<(), BoxError> {
            let request = context.request();
            let put =
                (request.headers().get("x-amz-target")).is_some_and(|t| t.ends_with("PutItem"));
            let body = String::from_utf8_lossy(request.body().bytes().unwrap_or_default());
            if put && body.contains("\"T#") {
                return Err("injected failure of a task write".into());
            }
            Ok(())
        }
    }
    let config = client
        .config()
        .to_builder()
        .interceptor(FailTaskWrites)
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

/// DynamoDB: a task whose place was reserved in its owner's item but whose own write then
/// failed gives the place back (it used to hold it until the task's expiry).
#[tokio::test]
async fn a_failed_task_write_gives_its_place_back() {
    let moto = Moto::shared();
    let client = moto.dynamodb();
    let table = unique_table("tasks");
    assert!(create_table(&client, &table).await.unwrap());
    let failing = DynamoStore::new(failing_task_writes(&client), &table);
    let healthy: Arc<dyn SessionStore> = Arc::new(DynamoStore::new(client, &table));
    for _ in 0..3 {
        let refused = failing
            .tasks()
            .unwrap()
            .create_task(&task(60_000, "{}"))
            .await;
        assert!(
            matches!(refused, Err(StoreError::Backend(_))),
            "{refused:?}"
        );
    }
    assert!(
        healthy
            .tasks()
            .unwrap()
            .list_tasks("session:abc")
            .await
            .unwrap()
            .is_empty()
    );
    fill_every_place(&healthy).await;
}

macro_rules! both {
    ($($name:ident),*) => {
        mod memory {
            $(#[tokio::test] async fn $name() { super::$name(false).await })*
        }
        mod dynamodb {
            $(#[tokio::test] async fn $name() { super::$name(true).await })*
        }
    };
}

both!(
    created_tasks_are_read_by_either_handle,
    one_of_two_racing_replacements_is_stored,
    expired_tasks_are_gone,
    oversized_tasks_are_refused,
    an_owner_holds_a_bounded_number_of_live_tasks,
    an_owners_live_tasks_are_listed,
    a_refused_creation_keeps_no_place
);
