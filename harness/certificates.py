"""Certificates for TLS tests, made with the openssl command line: a CA and what it signs."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

DAYS = "2"


@dataclass(frozen=True)
class Pair:
    """A certificate and its key, as files."""

    cert: Path
    key: Path


class CertificateAuthority:
    """A self-signed CA in `directory` that signs server and client certificates."""

    def __init__(self, directory: Path, name: str = "ca") -> None:
        self.directory = directory
        self.name = name
        self.cert = directory / f"{name}.crt"
        self.key = directory / f"{name}.key"
        self._openssl(
            "req", "-x509", *_new_key(self.key), "-out", str(self.cert),
            "-days", DAYS, "-subj", f"/CN=qwatch test {name}",
        )  # fmt: skip

    def issue(self, name: str, sans: str = "", client: bool = False) -> Pair:
        """A certificate for `name` with SANs like `IP:127.0.0.1,DNS:localhost`."""
        pair = Pair(self.directory / f"{name}.crt", self.directory / f"{name}.key")
        request = self.directory / f"{name}.csr"
        self._openssl("req", *_new_key(pair.key), "-out", str(request), "-subj", f"/CN={name}")
        extensions = [f"subjectAltName={sans}"] if sans else []
        extensions.append(f"extendedKeyUsage={'clientAuth' if client else 'serverAuth'}")
        extfile = self.directory / f"{name}.ext"
        extfile.write_text("\n".join(extensions) + "\n")
        self._openssl(
            "x509", "-req", "-in", str(request), "-CA", str(self.cert), "-CAkey", str(self.key),
            "-CAcreateserial", "-out", str(pair.cert), "-days", DAYS, "-extfile", str(extfile),
        )  # fmt: skip
        return pair

    def _openssl(self, *args: str) -> None:
        subprocess.run(["openssl", *args], cwd=self.directory, check=True, capture_output=True)


def _new_key(path: Path) -> list[str]:
    """Options for a new unencrypted P-256 key: quicker to make than RSA."""
    return [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        str(path),
    ]
