//! Turning SDK errors into [`StoreError`]s.

use std::error::Error;
use std::fmt::Debug;

use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

use super::super::StoreError;

/// Whether a conditional write failed its condition (the race it guards was lost).
pub(crate) fn is_condition_failure<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> bool {
    e.as_service_error().and_then(ProvideErrorMetadata::code)
        == Some("ConditionalCheckFailedException")
}

/// Any other failure: network, throttling after the SDK's retries, permissions, a missing
/// table. A service error is told by its code and message; any other by its error chain.
pub fn backend<E: Error + ProvideErrorMetadata + 'static, R: Debug>(
    e: SdkError<E, R>,
) -> StoreError {
    let message = match e.as_service_error() {
        Some(service) => format!(
            "DynamoDB {}: {}",
            service.code().unwrap_or("error"),
            service.message().unwrap_or("(no message)")
        ),
        None => DisplayErrorContext(&e).to_string(),
    };
    StoreError::Backend(message)
}
