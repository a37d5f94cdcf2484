"""A proxy in front of moto for what moto 5 lacks on the way to an auth_mode = "oauth" apply
(API Gateway and Cognito's endpoints point here; everything else is forwarded unchanged):

- Cognito DeleteResourceServer: moto raises NotImplementedError (500), so the provider retries
  until its timeout. Answered as AWS's API reference shows it (200, empty JSON object), and the
  resource server is remembered as deleted: DescribeResourceServer then answers 400
  ResourceNotFoundException for it and ListResourceServers leaves it out. (moto drops it for
  real with its user pool.)
- API Gateway's OpenAPI import (PutRestApi, ImportRestApi): moto creates the paths, methods
  and integrations but drops the x-amazon-apigateway-* extensions and the security
  requirements. Once moto has answered, the proxy applies them through moto's own API, as
  AWS's import does: authorizers from x-amazon-apigateway-authorizer schemes (CreateAuthorizer),
  each method's authorization (authorizationType AWS_IAM / COGNITO_USER_POOLS / CUSTOM,
  authorizerId, authorizationScopes, apiKeyRequired; NONE where moto leaves it null), request
  validators and required request parameters, and gateway responses (PutGatewayResponse). In
  overwrite mode the API's previous authorizers, validators and gateway responses go first.
  moto has no UpdateMethod, so each method is put again with its integration and responses.

GET /__proxy/stats answers its counters (read by probe/probe.py).
Usage: oauth_proxy.py UPSTREAM PORT_FILE (writes its port there once listening).
"""

import json
import sys
import urllib.parse

import boto3

from standin import Handler, serve

upstream, port_file = sys.argv[1], sys.argv[2]
apigw = boto3.client("apigateway", endpoint_url=upstream)
stats = {"delete_resource_server": 0, "imports": 0, "authorizers": 0, "methods": 0, "validators": 0, "gateway_responses": 0}
deleted_resource_servers = set()  # (UserPoolId, Identifier)

COGNITO = "AWSCognitoIdentityProviderService."
INTEGRATION_FIELDS = {
    "type": "type",
    "httpMethod": "integrationHttpMethod",
    "uri": "uri",
    "passthroughBehavior": "passthroughBehavior",
    "timeoutInMillis": "timeoutInMillis",
    "contentHandling": "contentHandling",
    "requestParameters": "requestParameters",
    "requestTemplates": "requestTemplates",
    "cacheNamespace": "cacheNamespace",
    "cacheKeyParameters": "cacheKeyParameters",
}
PARAMETER_LOCATIONS = {"header": "header", "query": "querystring", "path": "path"}


def method_auth(doc, op, schemes, authorizer_ids):
    """What AWS's import makes of one operation's security requirement and parameters."""
    auth = {"authorizationType": "NONE", "apiKeyRequired": False}
    for requirement in op.get("security", doc.get("security", [])):
        for name, scopes in requirement.items():
            scheme = schemes[name]
            authorizer = scheme.get("x-amazon-apigateway-authorizer")
            if scheme.get("x-amazon-apigateway-authtype") == "awsSigv4":
                auth["authorizationType"] = "AWS_IAM"
            elif authorizer:
                cognito = authorizer["type"].lower() == "cognito_user_pools"
                auth["authorizationType"] = "COGNITO_USER_POOLS" if cognito else "CUSTOM"
                auth["authorizerId"] = authorizer_ids[name]
                if scopes:
                    auth["authorizationScopes"] = scopes
            elif scheme.get("type") == "apiKey":
                auth["apiKeyRequired"] = True
    params = {
        f"method.request.{PARAMETER_LOCATIONS[p['in']]}.{p['name']}": bool(p.get("required"))
        for p in op.get("parameters", [])
    }
    if params:
        auth["requestParameters"] = params
    return auth


def put_method_again(api, resource_id, http_method, auth, validator_id):
    """moto has no UpdateMethod: put the method again, then its integration and responses."""
    old = apigw.get_method(restApiId=api, resourceId=resource_id, httpMethod=http_method)
    extra = {"requestValidatorId": validator_id} if validator_id else {}
    apigw.put_method(restApiId=api, resourceId=resource_id, httpMethod=http_method, **auth, **extra)
    integration = old.get("methodIntegration")
    if integration:
        args = {dst: integration[src] for src, dst in INTEGRATION_FIELDS.items() if integration.get(src) not in (None, {}, [])}
        apigw.put_integration(restApiId=api, resourceId=resource_id, httpMethod=http_method, **args)
    for code in old.get("methodResponses", {}):
        apigw.put_method_response(restApiId=api, resourceId=resource_id, httpMethod=http_method, statusCode=code)
    stats["methods"] += 1


def apply_extensions(api, doc, overwrite):
    """The parts of an OpenAPI body moto's import drops, applied through moto's API."""
    stats["imports"] += 1
    if overwrite:
        for a in apigw.get_authorizers(restApiId=api).get("items", []):
            apigw.delete_authorizer(restApiId=api, authorizerId=a["id"])
        for v in apigw.get_request_validators(restApiId=api).get("items", []):
            apigw.delete_request_validator(restApiId=api, requestValidatorId=v["id"])
        for r in apigw.get_gateway_responses(restApiId=api).get("items", []):
            apigw.delete_gateway_response(restApiId=api, responseType=r["responseType"])

    schemes = doc.get("components", {}).get("securitySchemes", {})
    authorizer_ids = {}
    for name, scheme in schemes.items():
        authorizer = scheme.get("x-amazon-apigateway-authorizer")
        if not authorizer:
            continue
        kind = authorizer["type"].upper()
        args = {"name": name, "type": "COGNITO_USER_POOLS" if kind == "COGNITO_USER_POOLS" else kind}
        if authorizer.get("providerARNs"):
            args["providerARNs"] = authorizer["providerARNs"]
        if authorizer.get("identitySource"):
            args["identitySource"] = authorizer["identitySource"]
        authorizer_ids[name] = apigw.create_authorizer(restApiId=api, **args)["id"]
        stats["authorizers"] += 1

    validator_ids = {}
    for name, v in doc.get("x-amazon-apigateway-request-validators", {}).items():
        validator_ids[name] = apigw.create_request_validator(
            restApiId=api, name=name,
            validateRequestBody=bool(v.get("validateRequestBody")),
            validateRequestParameters=bool(v.get("validateRequestParameters")),
        )["id"]
        stats["validators"] += 1

    resources = {r["path"]: r["id"] for r in apigw.get_resources(restApiId=api, limit=500)["items"]}
    default_validator = doc.get("x-amazon-apigateway-request-validator")
    for path, item in doc.get("paths", {}).items():
        for method, op in item.items():
            auth = method_auth(doc, op, schemes, authorizer_ids)
            validator = validator_ids.get(op.get("x-amazon-apigateway-request-validator", default_validator))
            put_method_again(api, resources[path], method.upper(), auth, validator)

    for response_type, r in doc.get("x-amazon-apigateway-gateway-responses", {}).items():
        args = {k: r[k] for k in ("statusCode", "responseParameters", "responseTemplates") if k in r}
        apigw.put_gateway_response(restApiId=api, responseType=response_type, **args)
        stats["gateway_responses"] += 1


class Proxy(Handler):
    def cognito_error(self, code, message):
        body = json.dumps({"__type": code, "message": message}).encode()
        self.reply(400, body, [("x-amzn-ErrorType", code), ("Content-Type", "application/x-amz-json-1.1")])

    def forward(self):
        if self.path == "/__proxy/stats":
            return self.reply(200, json.dumps(stats).encode(), [("Content-Type", "application/json")])
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        target = self.headers.get("X-Amz-Target", "")
        if target.startswith(COGNITO):
            action, request = target[len(COGNITO):], json.loads(body or b"{}")
            key = (request.get("UserPoolId"), request.get("Identifier"))
            if action == "DeleteResourceServer":
                deleted_resource_servers.add(key)
                stats["delete_resource_server"] += 1
                return self.reply(200, b"{}", [("Content-Type", "application/x-amz-json-1.1")])
            if action == "DescribeResourceServer" and key in deleted_resource_servers:
                return self.cognito_error("ResourceNotFoundException", f"No resource server {key[1]} in user pool {key[0]}.")
            if action == "CreateResourceServer":
                deleted_resource_servers.discard(key)
        status, out_headers, data = self.upstream_call(body)
        if target == COGNITO + "ListResourceServers" and status == 200:
            answer = json.loads(data)
            pool = json.loads(body)["UserPoolId"]
            answer["ResourceServers"] = [s for s in answer.get("ResourceServers", []) if (pool, s["Identifier"]) not in deleted_resource_servers]
            data = json.dumps(answer).encode()
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query)
        segments = url.path.strip("/").split("/")
        is_put = self.command == "PUT" and len(segments) == 2 and segments[0] == "restapis"
        is_import = self.command == "POST" and segments == ["restapis"] and query.get("mode") == ["import"]
        if (is_put or is_import) and 200 <= status < 300:
            api = segments[1] if is_put else json.loads(data)["id"]
            apply_extensions(api, json.loads(body), overwrite=is_put and query.get("mode", ["merge"]) == ["overwrite"])
        self.reply(status, data, out_headers)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = do_PATCH = forward


serve(Proxy, upstream, port_file)
