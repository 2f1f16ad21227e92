"""The credential issuer Lambda: request table stream -> credential -> PrivateBin link -> Slack DM.

`handler.lambda_handler` is the entry point; `flow.Issuer` does the work for one request.
"""

# Where `make package` (scripts/package_issuer.py) writes the Lambda's code and layer, relative
# to the project directory; the Pulumi program deploys them from there.
CODE_ZIP = "build/issuer/code.zip"
LAYER_ZIP = "build/issuer/layer.zip"
# The Lambda platform both zips are built for; the issuer and the reaper run on it.
RUNTIME = "python3.13"
ARCHITECTURE = "arm64"
