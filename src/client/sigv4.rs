//! SigV4 signing of the client's requests, for endpoints behind API Gateway with IAM
//! authorization (`auth_mode = "iam"`): credentials from the standard AWS chain (environment,
//! profile, SSO, web identity, container and instance roles), service `execute-api`.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use reqwest::header::{HeaderName, HeaderValue};

use super::ClientError;

/// The service name API Gateway's IAM authorization expects.
pub const EXECUTE_API: &str = "execute-api";

/// Credentials are fetched again when they expire within this margin.
const REFRESH_MARGIN: Duration = Duration::from_secs(300);

/// Signs requests with SigV4 for one region and service.
pub struct SigV4Signer {
    provider: SharedCredentialsProvider,
    region: String,
    service: String,
    time: Option<SystemTime>,
    cached: tokio::sync::Mutex<Option<Credentials>>,
}

impl std::fmt::Debug for SigV4Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigV4Signer")
            .field("region", &self.region)
            .field("service", &self.service)
            .finish_non_exhaustive()
    }
}

impl SigV4Signer {
    /// A signer with credentials from `provider`.
    pub fn new(
        provider: impl ProvideCredentials + 'static,
        region: impl Into<String>,
        service: impl Into<String>,
    ) -> Self {
        SigV4Signer {
            provider: SharedCredentialsProvider::new(provider),
            region: region.into(),
            service: service.into(),
            time: None,
            cached: tokio::sync::Mutex::new(None),
        }
    }

    /// A signer with the standard AWS credential chain. The region is `region`, else the
    /// AWS configuration's (`AWS_REGION`, the profile), else the one in an API Gateway URL
    /// (`https://ID.execute-api.REGION.amazonaws.com/...`).
    pub async fn from_env(
        region: Option<String>,
        service: &str,
        url: &str,
    ) -> Result<Self, ClientError> {
        let config = crate::aws::load_config().await;
        let region = region
            .or_else(|| config.region().map(|r| r.to_string()))
            .or_else(|| region_in_url(url))
            .ok_or_else(|| {
                ClientError::Option(
                    "--sigv4 needs a region: pass --region, set AWS_REGION, or use an \
                     execute-api URL that names one"
                        .into(),
                )
            })?;
        let provider = config.credentials_provider().ok_or_else(|| {
            ClientError::Option("--sigv4: no AWS credential provider is configured".into())
        })?;
        Ok(SigV4Signer {
            provider,
            region,
            service: service.to_owned(),
            time: None,
            cached: tokio::sync::Mutex::new(None),
        })
    }

    /// Signs as if the time were `time` (tests compare with a signature computed elsewhere).
    #[cfg(test)]
    pub(crate) fn at_time(mut self, time: SystemTime) -> Self {
        self.time = Some(time);
        self
    }

    pub fn region(&self) -> &str {
        &self.region
    }

    pub fn service(&self) -> &str {
        &self.service
    }

    /// Credentials, fetched on first use and again shortly before they expire.
    async fn credentials(&self) -> Result<Credentials, ClientError> {
        let mut cached = self.cached.lock().await;
        if let Some(credentials) = cached.as_ref() {
            let fresh = credentials
                .expiry()
                .is_none_or(|at| at > SystemTime::now() + REFRESH_MARGIN);
            if fresh {
                return Ok(credentials.clone());
            }
        }
        let credentials = self
            .provider
            .provide_credentials()
            .await
            .map_err(|e| ClientError::Signing(format!("no AWS credentials: {e}")))?;
        *cached = Some(credentials.clone());
        Ok(credentials)
    }

    /// Adds `X-Amz-Date`, `Authorization` (and `X-Amz-Security-Token` for temporary
    /// credentials) to `request`, signing its method, URL, headers and body.
    pub async fn sign(&self, request: &mut reqwest::Request) -> Result<(), ClientError> {
        if request.url().host_str().is_none() {
            return Err(ClientError::Signing("the URL has no host to sign".into()));
        }
        let identity = self.credentials().await?.into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name(&self.service)
            .time(self.time.unwrap_or_else(SystemTime::now))
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| ClientError::Signing(e.to_string()))?
            .into();
        let body = request
            .body()
            .map(|b| b.as_bytes().unwrap_or_default())
            .unwrap_or_default();
        let headers = request
            .headers()
            .iter()
            .filter_map(|(name, value)| value.to_str().ok().map(|v| (name.as_str(), v)));
        let signable = SignableRequest::new(
            request.method().as_str(),
            request.url().as_str(),
            headers,
            SignableBody::Bytes(body),
        )
        .map_err(|e| ClientError::Signing(e.to_string()))?;
        let (instructions, _signature) = sign(signable, &params)
            .map_err(|e| ClientError::Signing(e.to_string()))?
            .into_parts();
        let (headers, _params) = instructions.into_parts();
        for header in headers {
            let name = HeaderName::from_bytes(header.name().as_bytes())
                .map_err(|e| ClientError::Signing(e.to_string()))?;
            let mut value = HeaderValue::from_str(header.value())
                .map_err(|e| ClientError::Signing(e.to_string()))?;
            value.set_sensitive(header.sensitive());
            request.headers_mut().insert(name, value);
        }
        Ok(())
    }
}

/// The region of an API Gateway or Lambda URL host (`ID.execute-api.REGION.amazonaws.com`,
/// `ID.lambda-url.REGION.on.aws`).
pub(crate) fn region_in_url(url: &str) -> Option<String> {
    let host = reqwest::Url::parse(url).ok()?.host_str()?.to_owned();
    let labels: Vec<&str> = host.split('.').collect();
    let at = labels
        .iter()
        .position(|l| *l == "execute-api" || *l == "lambda-url")?;
    labels
        .get(at + 1)
        .filter(|r| crate::aws::valid_region(r))
        .map(|r| (*r).to_owned())
}

/// A shareable signer.
pub(crate) type SharedSigner = Arc<SigV4Signer>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_are_read_from_gateway_urls() {
        assert_eq!(
            region_in_url("https://abc123.execute-api.eu-west-3.amazonaws.com/prod/mcp").as_deref(),
            Some("eu-west-3")
        );
        assert_eq!(
            region_in_url("https://x.lambda-url.us-east-1.on.aws/mcp").as_deref(),
            Some("us-east-1")
        );
        assert_eq!(region_in_url("http://127.0.0.1:8080/mcp"), None);
        assert_eq!(region_in_url("not a url"), None);
    }

    #[tokio::test]
    async fn signs_with_the_documented_example() {
        // The aws-sigv4 crate's own GET example, checked against its published signature.
        let signer = SigV4Signer::new(
            Credentials::new(
                "AKIDEXAMPLE",
                "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                None,
                None,
                "test",
            ),
            "us-east-1",
            "service",
        )
        .at_time(SystemTime::UNIX_EPOCH + Duration::from_secs(1_440_938_160));
        let client = reqwest::Client::new();
        let mut request = client
            .get("https://example.amazonaws.com/")
            .header("host", "example.amazonaws.com")
            .build()
            .unwrap();
        signer.sign(&mut request).await.unwrap();
        assert_eq!(
            request.headers()["x-amz-date"].to_str().unwrap(),
            "20150830T123600Z"
        );
        // From the SigV4 test suite (get-vanilla).
        assert_eq!(
            request.headers()["authorization"].to_str().unwrap(),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
             SignedHeaders=host;x-amz-date, \
             Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        );
    }
}
