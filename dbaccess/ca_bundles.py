"""Which CA bundle verifies a database's TLS certificate (`sslmode=verify-full`), per engine.

RDS and Aurora present certificates from Amazon RDS's own CAs; Redshift's come from AWS
Certificate Manager, so they chain to the Amazon Trust Services roots instead.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CaBundle:
    file_name: str
    url: str


RDS = CaBundle(
    "global-bundle.pem", "https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem"
)
REDSHIFT = CaBundle(
    "amazon-trust-ca-bundle.crt",
    "https://s3.amazonaws.com/redshift-downloads/amazon-trust-ca-bundle.crt",
)


def for_engine(engine: str) -> CaBundle:
    return REDSHIFT if engine == "redshift" else RDS
