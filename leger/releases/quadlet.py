"""Our own reader of Podman Quadlet files (systemd unit syntax), with line numbers for error messages.

It reads what systemd's unit parser and Podman's quadlet generator read: ``[Section]`` headers, ``Key=Value``
lines, comments starting with ``#`` or ``;``, and continuation lines (a line ending in a backslash goes on
with the next line). ``split_words`` splits a value the way quadlet does for multi-word keys such as
``Environment=`` (double or single quotes, C escapes).

The key lists below are the ``[Container]``, ``[Volume]`` and ``[Network]`` options of Podman 5's
podman-systemd.unit(5), less those the Podman 5.4 generator (Debian trixie's) still rejects (``Memory``,
``ReloadCmd``, ``ReloadSignal``, ``Retry``, ``RetryDelay``, ``InterfaceName``, ``NetworkDeleteOnStop`` came
later); ``tests/releases/test_real_tools.py`` checks every one against the real generator. The systemd
sections list the keys of systemd.unit(5), systemd.service(5) and systemd.exec(5) a release may use.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


CONTAINER_KEYS = _words(
    """
    AddCapability AddDevice AddHost Annotation AutoUpdate CgroupsMode ContainerName ContainersConfModule DNS
    DNSOption DNSSearch DropCapability Entrypoint Environment EnvironmentFile EnvironmentHost Exec
    ExposeHostPort GIDMap GlobalArgs Group GroupAdd HealthCmd HealthInterval HealthLogDestination
    HealthMaxLogCount HealthMaxLogSize HealthOnFailure HealthRetries HealthStartPeriod HealthStartupCmd
    HealthStartupInterval HealthStartupRetries HealthStartupSuccess HealthStartupTimeout HealthTimeout HostName
    Image IP IP6 Label LogDriver LogOpt Mask Mount Network NetworkAlias NoNewPrivileges Notify PidsLimit Pod
    PodmanArgs PublishPort Pull ReadOnly ReadOnlyTmpfs Rootfs RunInit SeccompProfile Secret SecurityLabelDisable
    SecurityLabelFileType SecurityLabelLevel SecurityLabelNested SecurityLabelType ShmSize StartWithPod
    StopSignal StopTimeout SubGIDMap SubUIDMap Sysctl Timezone Tmpfs UIDMap Ulimit Unmask User UserNS Volume
    WorkingDir
    """
)
NETWORK_KEYS = _words(
    """
    ContainersConfModule DisableDNS DNS Driver Gateway GlobalArgs Internal IPAMDriver IPRange IPv6 Label
    NetworkName Options PodmanArgs Subnet
    """
)
VOLUME_KEYS = _words(
    """
    ContainersConfModule Copy Device Driver GlobalArgs Group Image Label Options PodmanArgs Type User VolumeName
    """
)
UNIT_KEYS = _words(
    """
    Description Documentation Wants Requires Requisite BindsTo PartOf Upholds Conflicts Before After OnFailure
    OnSuccess PropagatesReloadTo ReloadPropagatedFrom PropagatesStopTo StopPropagatedFrom JoinsNamespaceOf
    RequiresMountsFor WantsMountsFor OnFailureJobMode IgnoreOnIsolate StopWhenUnneeded RefuseManualStart
    RefuseManualStop AllowIsolate DefaultDependencies SurviveFinalKillSignal CollectMode FailureAction
    SuccessAction FailureActionExitStatus SuccessActionExitStatus JobTimeoutSec JobRunningTimeoutSec
    JobTimeoutAction JobTimeoutRebootArgument StartLimitIntervalSec StartLimitBurst StartLimitAction
    RebootArgument SourcePath
    """
)
# Condition*= and Assert*= keys of [Unit].
UNIT_KEY_PREFIXES = ("Condition", "Assert")
SERVICE_KEYS = _words(
    """
    Type ExitType RemainAfterExit GuessMainPID PIDFile BusName ExecStart ExecStartPre ExecStartPost
    ExecCondition ExecReload ExecStop ExecStopPost RestartSec RestartSteps RestartMaxDelaySec TimeoutStartSec
    TimeoutStopSec TimeoutAbortSec TimeoutSec TimeoutStartFailureMode TimeoutStopFailureMode RuntimeMaxSec
    RuntimeRandomizedExtraSec WatchdogSec Restart RestartMode SuccessExitStatus RestartPreventExitStatus
    RestartForceExitStatus NotifyAccess OOMPolicy KillMode KillSignal RestartKillSignal SendSIGHUP SendSIGKILL
    FinalKillSignal WatchdogSignal Environment EnvironmentFile PassEnvironment UnsetEnvironment WorkingDirectory
    SyslogIdentifier SyslogFacility SyslogLevel StandardOutput StandardError LogLevelMax Nice CPUWeight CPUQuota
    MemoryMin MemoryLow MemoryHigh MemoryMax MemorySwapMax TasksMax IOWeight LimitNOFILE LimitNPROC LimitMEMLOCK
    Delegate Slice
    """
)
INSTALL_KEYS = frozenset({"Alias", "WantedBy", "RequiredBy", "UpheldBy", "DefaultInstance"})

SECTIONS_BY_SUFFIX: dict[str, dict[str, frozenset[str]]] = {
    ".container": {"Unit": UNIT_KEYS, "Container": CONTAINER_KEYS, "Service": SERVICE_KEYS, "Install": INSTALL_KEYS},
    ".network": {"Unit": UNIT_KEYS, "Network": NETWORK_KEYS, "Service": SERVICE_KEYS, "Install": INSTALL_KEYS},
    ".volume": {"Unit": UNIT_KEYS, "Volume": VOLUME_KEYS, "Service": SERVICE_KEYS, "Install": INSTALL_KEYS},
}
# The one key quadlet cannot do without, per file type.
REQUIRED_KEYS: dict[str, tuple[str, str]] = {".container": ("Container", "Image")}
MAIN_SECTION = {".container": "Container", ".network": "Network", ".volume": "Volume"}


@dataclass(frozen=True)
class Entry:
    key: str
    value: str
    line: int  # where the entry starts (1-based); a continued value spans the lines after it


@dataclass
class Section:
    name: str
    line: int
    entries: list[Entry] = field(default_factory=list)

    def values(self, key: str) -> list[str]:
        return [entry.value for entry in self.entries if entry.key == key]


@dataclass(frozen=True)
class SyntaxProblem:
    line: int
    message: str


@dataclass
class UnitFile:
    sections: list[Section] = field(default_factory=list)
    problems: list[SyntaxProblem] = field(default_factory=list)

    def section(self, name: str) -> Section | None:
        """The first section of that name (systemd merges repeated sections; we look at each in ``entries``)."""
        return next((section for section in self.sections if section.name == name), None)

    def entries(self, section: str, key: str | None = None) -> Iterator[Entry]:
        for candidate in self.sections:
            if candidate.name == section:
                yield from (entry for entry in candidate.entries if key is None or entry.key == key)

    def values(self, section: str, key: str) -> list[str]:
        return [entry.value for entry in self.entries(section, key)]


_SECTION_RE = re.compile(r"^\[([^\[\]]+)\]$")
_KEY_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")


def parse(text: str) -> UnitFile:
    """Read a unit file; syntax problems are collected in ``problems`` rather than raised."""
    unit = UnitFile()
    current: Section | None = None
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    index = 0
    while index < len(lines):
        number = index + 1
        raw = lines[index]
        index += 1
        if "\r" in raw:
            unit.problems.append(SyntaxProblem(number, "carriage return in the line; use Unix line endings"))
            raw = raw.replace("\r", "")
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            match = _SECTION_RE.match(line)
            if not match:
                unit.problems.append(SyntaxProblem(number, f"malformed section header {line!r}; write [Name]"))
                continue
            current = Section(match.group(1), number)
            unit.sections.append(current)
            continue
        # Continuation: a trailing backslash joins the next line (comment lines inside are skipped).
        while line.endswith("\\") and index < len(lines):
            line = line[:-1] + " "
            while index < len(lines) and lines[index].strip().startswith(("#", ";")):
                index += 1
            if index < len(lines):
                line += lines[index].strip()
                index += 1
        if "=" not in line:
            unit.problems.append(SyntaxProblem(number, f"expected Key=Value, found {line!r}"))
            continue
        key, value = line.split("=", 1)
        key, value = key.strip(), value.strip()
        if not _KEY_RE.match(key):
            unit.problems.append(SyntaxProblem(number, f"invalid key name {key!r}"))
            continue
        if current is None:
            unit.problems.append(SyntaxProblem(number, f"{key}= appears before any [Section] header"))
            continue
        current.entries.append(Entry(key, value, number))
    return unit


_ESCAPES = {
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
    "\\": "\\",
    '"': '"',
    "'": "'",
    "s": " ",
}


def split_words(value: str) -> list[str]:
    """Split a value into words as quadlet does (quotes group, C escapes inside quotes).

    Raises ValueError on an unterminated quote or a bad escape.
    """
    words: list[str] = []
    i, n = 0, len(value)
    while i < n:
        while i < n and value[i] in " \t":
            i += 1
        if i >= n:
            break
        word = []
        quote: str | None = None
        while i < n:
            char = value[i]
            if quote is None and char in " \t":
                break
            if char in "\"'" and (quote is None or quote == char):
                quote = None if quote == char else char
                i += 1
                continue
            if char == "\\":
                if i + 1 >= n:
                    raise ValueError("the value ends with a lone backslash")
                nxt = value[i + 1]
                if nxt in _ESCAPES:
                    word.append(_ESCAPES[nxt])
                    i += 2
                    continue
                if nxt == "x" and re.fullmatch(r"[0-9a-fA-F]{2}", value[i + 2 : i + 4]):
                    word.append(chr(int(value[i + 2 : i + 4], 16)))
                    i += 4
                    continue
                raise ValueError(f"unknown escape \\{nxt}")
            word.append(char)
            i += 1
        if quote is not None:
            raise ValueError(f"unterminated {quote} quote")
        words.append("".join(word))
    return words


def unit_name(path: str) -> str:
    """The systemd unit quadlet generates from a file: foo.container → foo.service, llm.network →
    llm-network.service, x.volume → x-volume.service."""
    name = path.rsplit("/", 1)[-1]
    stem, _, suffix = name.rpartition(".")
    if suffix == "container":
        return f"{stem}.service"
    if suffix in ("network", "volume", "pod", "image", "build", "kube"):
        return f"{stem}-{suffix}.service" if suffix != "kube" else f"{stem}.service"
    raise ValueError(f"{name} is not a Quadlet file")
