"""Writes what the AWS APIs (moto here) answer about a deployment, as one JSON file, for the
assertions of ../*.tftest.hcl: the calls the hashicorp/aws provider has no data source for
(the function's package type, API Gateway stage, account and usage plans, every method's
authorization, authorizers and gateway responses, Bedrock's logging configuration, CloudWatch
alarms and dashboards, an inline role policy, an ECR lifecycle policy, Cognito user pools and a
pool's resource servers, domain and app clients), and the stand-in proxies' counters.
Usage: probe.py OUT [FUNCTION_NAME REST_API_ID STAGE_NAME ECR_REPOSITORY USER_POOL_ID]
(an empty argument skips the calls that need it).
"""

import json
import os
import sys
import urllib.request

import boto3
from botocore.exceptions import ClientError

out, *args = sys.argv[1:]
function_name, rest_api_id, stage_name, ecr_repository, user_pool_id = (args + [""] * 5)[:5]
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
    call("authorizers", apigw.get_authorizers, restApiId=rest_api_id)
    call("request_validators", apigw.get_request_validators, restApiId=rest_api_id)
    call("gateway_responses", apigw.get_gateway_responses, restApiId=rest_api_id)
    # Every method's authorization, by path and method (without the integration).
    methods = {}
    for r in facts["resources"].get("items", []):
        for m in r.get("resourceMethods", {}):
            method = apigw.get_method(restApiId=rest_api_id, resourceId=r["id"], httpMethod=m)
            methods.setdefault(r["path"], {})[m] = {
                k: method.get(k) for k in ("authorizationType", "authorizerId", "authorizationScopes", "apiKeyRequired", "requestValidatorId", "requestParameters")
            }
    facts["methods"] = methods
if function_name:
    call("function", boto3.client("lambda").get_function_configuration, FunctionName=function_name)
    call("dashboard", cw.get_dashboard, DashboardName=function_name)
    call("lambda_policy", boto3.client("iam").get_role_policy, RoleName=f"{function_name}-lambda", PolicyName="least-privilege")
    doc = facts["lambda_policy"].get("PolicyDocument")
    if isinstance(doc, str):
        facts["lambda_policy"]["PolicyDocument"] = json.loads(doc)
if ecr_repository:
    call("lifecycle", boto3.client("ecr").get_lifecycle_policy, repositoryName=ecr_repository)
cognito = boto3.client("cognito-idp")
call("user_pools", cognito.list_user_pools, MaxResults=60)
if user_pool_id:
    call("user_pool", cognito.describe_user_pool, UserPoolId=user_pool_id)
    call("resource_servers", cognito.list_resource_servers, UserPoolId=user_pool_id, MaxResults=50)
    domain = facts["user_pool"].get("UserPool", {}).get("Domain")
    if domain:
        call("domain", cognito.describe_user_pool_domain, Domain=domain)
    clients = cognito.list_user_pool_clients(UserPoolId=user_pool_id, MaxResults=60)["UserPoolClients"]
    facts["clients"] = {
        c["ClientName"]: cognito.describe_user_pool_client(UserPoolId=user_pool_id, ClientId=c["ClientId"])["UserPoolClient"]
        for c in clients
    }
    for c in facts["clients"].values():
        c["HasSecret"] = bool(c.pop("ClientSecret", None))
for key, variable in (("bedrock_proxy", "AWS_ENDPOINT_URL_BEDROCK"), ("oauth_proxy", "AWS_ENDPOINT_URL_API_GATEWAY")):
    proxy = os.environ.get(variable)
    if proxy:
        facts[key] = json.load(urllib.request.urlopen(proxy + "/__proxy/stats", timeout=10))

with open(out, "w") as f:
    json.dump(facts, f, default=str, indent=1)
