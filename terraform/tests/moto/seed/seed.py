"""Pushes a manifest to the ECR repository gha-bedrock-usage-mcp (tag test) and creates the SNS
topic oncall, on the AWS endpoint of the environment (moto)."""

import hashlib
import json

import boto3

ecr = boto3.client("ecr")
ecr.create_repository(repositoryName="gha-bedrock-usage-mcp")
config = b"{}"
manifest = {
    "schemaVersion": 2,
    "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
    "config": {
        "mediaType": "application/vnd.docker.container.image.v1+json",
        "size": len(config),
        "digest": "sha256:" + hashlib.sha256(config).hexdigest(),
    },
    "layers": [],
}
ecr.put_image(repositoryName="gha-bedrock-usage-mcp", imageManifest=json.dumps(manifest), imageTag="test")
boto3.client("sns").create_topic(Name="oncall")
