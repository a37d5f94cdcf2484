"""Writes what the AWS APIs (moto here) answer about a deployment, as one JSON file, for the
assertions of ../*.tftest.hcl: the calls the hashicorp/aws provider has no data source for
(the function's package type, API Gateway stage, account and usage plans, Bedrock's logging configuration, CloudWatch alarms
and dashboards, an inline role policy, an ECR lifecycle policy), and the Bedrock fault proxy's
counters. Usage: probe.py OUT [FUNCTION_NAME REST_API_ID STAGE_NAME ECR_REPOSITORY]
(an empty argument skips the calls that need it).
"""

import json
import os
import sys
import urllib.request

import boto3
from botocore.exceptions import ClientError

out, *args = sys.argv[1:]
function_name, rest_api_id, stage_name, ecr_repository = (args + [""] * 4)[:4]
facts = {}


def call(key, fn, **kwargs):
    """One API answer (without ResponseMetadata), or {"error": code} when the API refuses."""
    try:
        answer = fn(**kwargs)
        answer.pop("ResponseMetadata", None)
    except ClientError as e:
        answer = {"error": e.response["Error"]["Code"]}
    facts[key] = answer


apigw = boto3.client("apigateway")
cw = boto3.client("cloudwatch")
call("account", apigw.get_account)
call("rest_apis", apigw.get_rest_apis)
call("usage_plans", apigw.get_usage_plans)
call("logging", boto3.client("bedrock").get_model_invocation_logging_configuration)
call("alarms", cw.describe_alarms)
call("dashboards", cw.list_dashboards)
if rest_api_id:
    call("stage", apigw.get_stage, restApiId=rest_api_id, stageName=stage_name)
    call("resources", apigw.get_resources, restApiId=rest_api_id)
    mcp = [r for r in facts["resources"].get("items", []) if r["path"] == "/mcp"]
    if mcp:
        call("integration", apigw.get_integration, restApiId=rest_api_id, resourceId=mcp[0]["id"], httpMethod="POST")
if function_name:
    call("function", boto3.client("lambda").get_function_configuration, FunctionName=function_name)
    call("dashboard", cw.get_dashboard, DashboardName=function_name)
    call("lambda_policy", boto3.client("iam").get_role_policy, RoleName=f"{function_name}-lambda", PolicyName="least-privilege")
    doc = facts["lambda_policy"].get("PolicyDocument")
    if isinstance(doc, str):
        facts["lambda_policy"]["PolicyDocument"] = json.loads(doc)
if ecr_repository:
    call("lifecycle", boto3.client("ecr").get_lifecycle_policy, repositoryName=ecr_repository)
proxy = os.environ.get("AWS_ENDPOINT_URL_BEDROCK")
if proxy:
    facts["bedrock_proxy"] = json.load(urllib.request.urlopen(proxy + "/__proxy/stats", timeout=10))

with open(out, "w") as f:
    json.dump(facts, f, default=str, indent=1)
