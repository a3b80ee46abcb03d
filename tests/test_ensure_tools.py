"""`scripts/ensure-tools.sh`, which `make` runs first: it says what it installs, and why,
before it installs anything.

The machine's own packages are never touched: `apt-get` and `id` here are stand-ins
on a PATH of their own, which record what they were asked."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "ensure-tools.sh"
TEST_TOOLS = ("redis-server", "redis-sentinel", "prometheus", "promtool")


def stand_ins(directory: Path, uid: int) -> Path:
    """A PATH holding the shell tools the script uses, `redis-server`, and stand-ins for
    `id` and `apt-get` that print what they are asked."""
    directory.mkdir()
    for tool in ("bash", "sort", "tr"):
        found = shutil.which(tool)
        assert found is not None, tool
        (directory / tool).symlink_to(found)
    for name, body in (
        ("id", f"echo {uid}"),
        ("apt-get", 'echo "ran: apt-get $*" >&2'),
        ("redis-server", "exit 0"),
    ):
        path = directory / name
        path.write_text(f"#!{shutil.which('bash')}\n{body}\n")
        path.chmod(0o755)
    return directory


def ensure(path: Path) -> subprocess.CompletedProcess[str]:
    """The script as make runs it for `make test`, its output and errors in one stream."""
    return subprocess.run(
        [str(path / "bash"), str(SCRIPT), *TEST_TOOLS],
        env={"PATH": str(path)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=60,
        check=False,
    )


def test_as_root_it_names_each_package_and_its_use_before_installing(tmp_path: Path) -> None:
    result = ensure(stand_ins(tmp_path / "bin", uid=0))
    assert result.returncode == 0, result.stdout
    said, _sep, done = result.stdout.partition("ran: ")
    for command, package, use in (
        ("redis-sentinel", "redis-sentinel", "qwatch serve --sentinel"),
        ("prometheus", "prometheus", "a real Prometheus"),
        ("promtool", "prometheus", "alert and recording rules"),
    ):
        (line,) = [line for line in said.splitlines() if line.split()[:1] == [command]]
        assert f"(package {package})" in line and use in line, said
    assert "redis-server" not in said.split("installing")[0], "it is there: not named"
    assert "installing prometheus redis-sentinel as root" in said
    assert done.splitlines() == [
        "apt-get update -qq",
        "ran: apt-get install -y -qq --no-install-recommends prometheus redis-sentinel",
    ]


def test_not_root_it_says_what_to_install_and_installs_nothing(tmp_path: Path) -> None:
    result = ensure(stand_ins(tmp_path / "bin", uid=1000))
    assert result.returncode == 1
    assert "ran: " not in result.stdout and "(package prometheus)" in result.stdout
    assert "sudo apt-get install prometheus redis-sentinel" in result.stdout


def test_the_demo_asks_for_redis_server_alone() -> None:
    """Only the tests need Sentinel and Prometheus: `make demo` installs neither."""
    planned = subprocess.run(
        ["make", "-n", "demo"], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True
    ).stdout
    (line,) = [line for line in planned.splitlines() if "ensure-tools.sh" in line]
    assert line.split()[1:] == ["redis-server"], planned


def test_the_docs_count_no_tests() -> None:
    """A count written by hand drifts from the suite's (`pytest --collect-only -q` has it)."""
    for doc in (*ROOT.glob("*.md"), *ROOT.glob("*/README.md"), *ROOT.glob("docs/*.md")):
        counted = re.search(r"\b\d[\d,]* tests\b", doc.read_text())
        assert counted is None, f"{doc.name}: {counted.group()}"
