//! `mcp-client --sigv4`: requests signed with the AWS credential chain for an endpoint with
//! IAM authorization. A local stand-in for API Gateway verifies every signature (aws-sigv4
//! computing the expected one) and refuses what does not verify; botocore then recomputes
//! every accepted signature independently.
#![allow(clippy::unwrap_used)]

mod sigv4_gateway;

use std::process::Command;

use mcp_testkit::ServerProcess;
use serde_json::Value;
use sigv4_gateway::{ACCESS_KEY, Gateway, REGION, SECRET_KEY, SESSION_TOKEN, credentials_env};

/// Runs `mcp-client --url URL ARGS` with `env`; returns success and its output.
async fn mcp_client(url: &str, args: &[&str], env: Vec<(&'static str, String)>) -> (bool, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mcp-client"));
    command.args(["--url", url]).args(args).envs(env);
    let output = tokio::task::spawn_blocking(move || command.output().expect("running mcp-client"))
        .await
        .unwrap();
    (
        output.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    )
}

const SMOKE: [&str; 5] = [
    "smoke",
    "--tool",
    "test_long_operation",
    "--arguments",
    r#"{"steps":4,"interval_ms":30}"#,
];

/// botocore's SigV4 signer recomputes each recorded request's signature; returns how many
/// were checked, failing on any mismatch.
fn botocore_agrees(records: &[Value], base: &str) -> usize {
    const SCRIPT: &str = r#"
import json, sys
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
records = json.load(open(sys.argv[1]))
access, secret, token, region, base = sys.argv[2:7]
bad = 0
for r in records:
    h = r["headers"]
    auth = h["authorization"]
    signed = auth.split("SignedHeaders=")[1].split(",")[0].split(";")
    req = AWSRequest(method=r["method"], url=base + r["path"], data=r["body"].encode(),
                     headers={k: h[k] for k in signed})
    req.context["timestamp"] = h["x-amz-date"]
    signer = SigV4Auth(Credentials(access, secret, token), "execute-api", region)
    canonical = signer.canonical_request(req)
    signature = signer.signature(signer.string_to_sign(req, canonical), req)
    scope = signer.credential_scope(req)
    expected = "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s" % (
        access, scope, ";".join(signed), signature)
    if auth != expected:
        bad += 1
        print("MISMATCH", r["method"], r["path"], auth, expected, file=sys.stderr)
print(len(records))
sys.exit(1 if bad else 0)
"#;
    let dir = std::env::temp_dir().join(format!("sigv4-{}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("records.json");
    std::fs::write(&file, serde_json::to_vec(records).unwrap()).unwrap();
    let output = Command::new("python3")
        .args(["-c", SCRIPT])
        .arg(&file)
        .args([ACCESS_KEY, SECRET_KEY, SESSION_TOKEN, REGION, base])
        .output()
        .expect("python3 with botocore (it comes with moto)");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        output.status.success(),
        "botocore disagrees: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smoke_passes_an_iam_gateway_only_when_correctly_signed() {
    let server = ServerProcess::conformance(&[]);
    let gateway = Gateway::start(&server.url).await;

    let (ok, output) = mcp_client(
        &gateway.url,
        &[&["--sigv4"][..], &SMOKE].concat(),
        credentials_env(),
    )
    .await;
    assert!(ok, "{output}\nrefused: {:?}", gateway.refused());
    assert!(output.contains("8 passed, 0 failed"), "{output}");
    assert!(gateway.refused().is_empty(), "{:?}", gateway.refused());
    let records = gateway.records();
    for method in ["POST", "GET", "DELETE"] {
        assert!(
            records.iter().any(|r| r["method"] == method),
            "no signed {method} among {records:?}"
        );
    }
    let base = gateway.url.trim_end_matches("/mcp");
    assert_eq!(botocore_agrees(&records, base), records.len());

    // The region can come from --region instead of the environment.
    let mut env = credentials_env();
    env.retain(|(k, _)| *k != "AWS_REGION");
    let (ok, output) = mcp_client(
        &gateway.url,
        &[&["--sigv4", "--region", REGION][..], &SMOKE].concat(),
        env,
    )
    .await;
    assert!(ok, "{output}\nrefused: {:?}", gateway.refused());

    // Unsigned: refused, as API Gateway refuses it.
    let (ok, output) = mcp_client(&gateway.url, &SMOKE, credentials_env()).await;
    assert!(!ok, "an unsigned smoke passed: {output}");
    assert!(output.contains("403"), "{output}");
    assert!(
        gateway
            .refused()
            .iter()
            .any(|r| r == "Missing Authentication Token"),
        "{:?}",
        gateway.refused()
    );

    // Signed with the wrong secret: refused too.
    let refused_before = gateway.refused().len();
    let mut env = credentials_env();
    for (k, v) in &mut env {
        if *k == "AWS_SECRET_ACCESS_KEY" {
            *v = "not-the-secret".to_owned();
        }
    }
    let (ok, output) = mcp_client(&gateway.url, &[&["--sigv4"][..], &SMOKE].concat(), env).await;
    assert!(!ok, "a badly signed smoke passed: {output}");
    let refused = gateway.refused();
    assert!(refused.len() > refused_before);
    assert!(
        refused[refused_before..]
            .iter()
            .all(|r| r.contains("does not match")),
        "{refused:?}"
    );

    // Signed for another region: refused.
    let (ok, _) = mcp_client(
        &gateway.url,
        &[&["--sigv4", "--region", "us-west-2"][..], &SMOKE].concat(),
        credentials_env(),
    )
    .await;
    assert!(!ok);
    assert!(gateway.refused().iter().any(|r| r.contains("wrong scope")));
}
