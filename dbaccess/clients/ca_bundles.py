"""Which CA bundle verifies a database's TLS certificate (`sslmode=verify-full`), per engine.

RDS and Aurora present certificates from Amazon RDS's own CAs; Redshift's come from AWS
Certificate Manager, so they chain to the Amazon Trust Services roots instead. The one place
that knows, for the engineer's CLI (its default path and config key), the analyst's paste and
the docs.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CaBundle:
    file_name: str  # as AWS publishes it
    url: str
    local_name: str  # the engineer CLI's default file in ~/.config/dbaccess/
    config_key: str  # the CLI config file's key naming another path

    def curl(self, path: str) -> str:
        """The command that downloads this bundle to `path`."""
        return f"curl -fsSL {self.url} -o {path}"


RDS = CaBundle(
    "global-bundle.pem",
    "https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem",
    local_name="rds-ca-bundle.pem",
    config_key="ca_bundle",
)
REDSHIFT = CaBundle(
    "amazon-trust-ca-bundle.crt",
    "https://s3.amazonaws.com/redshift-downloads/amazon-trust-ca-bundle.crt",
    local_name="redshift-ca-bundle.crt",
    config_key="redshift_ca_bundle",
)


def for_engine(engine: str) -> CaBundle:
    return REDSHIFT if engine == "redshift" else RDS
