"""Daemon settings: command-line flags over environment variables over defaults. Secrets come only
from the environment or from files, never from the repository."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from pathlib import Path


def _env(name: str, default: str) -> str:
    return os.environ.get(name, default)


def read_secret(name: str) -> str:
    """`NAME` from the environment, or the content of the file named by `NAME_FILE` (mode 0600)."""
    if os.environ.get(name):
        return os.environ[name]
    path_text = os.environ.get(f"{name}_FILE")
    if not path_text:
        return ""
    path = Path(path_text)
    if path.stat().st_mode & 0o077:
        raise RuntimeError(f"{path} is readable by others; chmod 600 it")
    return path.read_text().strip()


@dataclass
class Settings:
    config_paths: list[str] = field(default_factory=lambda: ["."])
    agi_host: str = field(default_factory=lambda: _env("IVR_AGI_HOST", "127.0.0.1"))
    agi_port: int = field(default_factory=lambda: int(_env("IVR_AGI_PORT", "4573")))
    agi_allowed_peers: frozenset[str] = field(
        default_factory=lambda: frozenset(p for p in _env("IVR_AGI_ALLOWED_PEERS", "").split(",") if p)
    )
    max_sessions: int = field(default_factory=lambda: int(_env("IVR_MAX_SESSIONS", "2000")))
    # SIGTERM: calls still in the menu after this many seconds go to the dialplan's fallback path.
    stop_grace_s: float = field(default_factory=lambda: float(_env("IVR_STOP_GRACE_S", "10")))
    ami_host: str = field(default_factory=lambda: _env("IVR_AMI_HOST", "127.0.0.1"))
    ami_port: int = field(default_factory=lambda: int(_env("IVR_AMI_PORT", "5038")))
    ami_user: str = field(default_factory=lambda: _env("IVR_AMI_USER", "ivr"))
    ami_secret: str = field(default_factory=lambda: read_secret("IVR_AMI_SECRET"))
    # `ivr asterisk reload` only: a separate AMI login (manager.conf [ivr-admin]) holding the `system`
    # class that Reload needs, so the daemon's own login does without it.
    # The longest wait between two AMI reconnect attempts; 0: 30 s, or 5 s with a `cluster:` (a node that
    # comes back takes calls from Kamailio within a second, and has no agents until its daemon is back).
    ami_reconnect_max_s: float = field(default_factory=lambda: float(_env("IVR_AMI_RECONNECT_MAX_S", "0")))
    ami_admin_user: str = field(default_factory=lambda: _env("IVR_AMI_ADMIN_USER", "ivr-admin"))
    ami_admin_secret: str = field(default_factory=lambda: read_secret("IVR_AMI_ADMIN_SECRET"))
    state_dir: Path = field(default_factory=lambda: Path(_env("IVR_STATE_DIR", "var")))
    allow_test_clock: bool = False
    log_level: str = field(default_factory=lambda: _env("IVR_LOG_LEVEL", "info"))
    # Live events (docs/EVENTS.md): an empty host turns the MQTT publisher off.
    mqtt_host: str = field(default_factory=lambda: _env("IVR_MQTT_HOST", ""))
    mqtt_port: int = field(default_factory=lambda: int(_env("IVR_MQTT_PORT", "1883")))
    mqtt_site: str = field(default_factory=lambda: _env("IVR_MQTT_SITE", ""))  # empty: routing_rules.yaml `site`
    mqtt_username: str = field(default_factory=lambda: _env("IVR_MQTT_USERNAME", ""))
    mqtt_password: str = field(default_factory=lambda: read_secret("IVR_MQTT_PASSWORD"))
    mqtt_backlog: int = field(default_factory=lambda: int(_env("IVR_MQTT_BACKLOG", "10000")))
    # Call records (docs/reports.md): empty means sqlite:///<state_dir>/ivr.db, i.e. sqlite:///var/ivr.db.
    db_url: str = field(default_factory=lambda: _env("IVR_DB_URL", ""))
    # A records write the database has not answered after this long is spooled instead.
    db_write_timeout_s: float = field(default_factory=lambda: float(_env("IVR_DB_WRITE_TIMEOUT_S", "15")))
    # The live wallboard on 127.0.0.1; 0 turns it off.
    wallboard_host: str = field(default_factory=lambda: _env("IVR_WALLBOARD_HOST", "127.0.0.1"))
    wallboard_port: int = field(default_factory=lambda: int(_env("IVR_WALLBOARD_PORT", "8088")))
    queue_snapshot_s: float = field(default_factory=lambda: float(_env("IVR_QUEUE_SNAPSHOT_S", "5")))
    # Agents' queue interface: their PJSIP softphone; the test sandbox uses Local/{extension}@agent-sim/n.
    agent_interface: str = field(default_factory=lambda: _env("IVR_AGENT_INTERFACE", "PJSIP/{extension}"))
    # The supervisor's phone that the page rings for listening in (docs/queues-and-agents.md); the test
    # sandbox uses a Local stand-in, Local/{extension}@supervisor-sim/n.
    supervisor_interface: str = field(default_factory=lambda: _env("IVR_SUPERVISOR_INTERFACE", "PJSIP/{extension}"))
    # The web desktop's browser softphone (WebRTC endpoint web{extension}), when an agent logs in with it.
    agent_browser_interface: str = field(
        default_factory=lambda: _env("IVR_AGENT_BROWSER_INTERFACE", "PJSIP/web{extension}"))
    # The web desktop (docs/desktop.md): a session ends after this long without a request or an open page,
    # and in any case this long after signing in; cookies marked Secure (behind the TLS proxy).
    web_session_idle_s: float = field(default_factory=lambda: float(_env("IVR_WEB_SESSION_IDLE_S", "7200")))
    web_session_max_s: float = field(default_factory=lambda: float(_env("IVR_WEB_SESSION_MAX_S", "43200")))
    web_secure_cookies: bool = field(default_factory=lambda: _env("IVR_WEB_SECURE_COOKIES", "0") == "1")
    # Failed sign-ins allowed per user name and per client address within the window before 429.
    web_login_failures_user: int = field(default_factory=lambda: int(_env("IVR_WEB_LOGIN_FAILURES_USER", "5")))
    web_login_failures_address: int = field(
        default_factory=lambda: int(_env("IVR_WEB_LOGIN_FAILURES_ADDRESS", "20")))
    web_login_window_s: float = field(default_factory=lambda: float(_env("IVR_WEB_LOGIN_WINDOW_S", "900")))
    # The browser softphone (docs/webrtc.md): the WebSocket URL of Asterisk's SIP as the browser sees it
    # (empty: wss://<the desktop's host>/ws, i.e. the TLS reverse proxy forwards /ws to Asterisk's
    # http.conf port, or in a cluster to the edge's WebSocket; a cluster's desktop on plain http: the
    # edge's ws://<service address>:<ws_port>), and the agents' phone passwords (`ivr asterisk
    # passwords`), readable by the daemon.
    softphone_ws_url: str = field(default_factory=lambda: _env("IVR_SOFTPHONE_WS_URL", ""))
    softphone_auth_file: Path = field(default_factory=lambda: Path(
        _env("IVR_SOFTPHONE_AUTH_FILE", "/etc/asterisk/pjsip_agents_auth.conf")))
    # Queued callbacks: the key that encrypts the numbers to call back (like IVR_HASH_KEY: the variable
    # itself, or IVR_CALLBACK_KEY_FILE; in development a key file in the state directory).
    callback_scan_s: float = field(default_factory=lambda: float(_env("IVR_CALLBACK_SCAN_S", "5")))
    # Several daemons on one store (docs/cluster-operations.md): this daemon's name in the cluster (leases,
    # health over MQTT, `ivr cluster status`), and how long a callback's stand-in stays this node's after
    # its last renewal (every scan) before another node takes it over.
    node_id: str = field(default_factory=lambda: _env("IVR_NODE_ID", "") or socket.gethostname())
    callback_lease_s: float = field(default_factory=lambda: float(_env("IVR_CALLBACK_LEASE_S", "30")))
    # Each node's health on the broker (retained, with a Last Will), republished this often; the key
    # that signs `ivr reload --all` (empty: the broker's ACL alone decides who may send it).
    cluster_health_s: float = field(default_factory=lambda: float(_env("IVR_CLUSTER_HEALTH_S", "15")))
    cluster_key: str = field(default_factory=lambda: read_secret("IVR_CLUSTER_KEY"))
    # The city's SMS gateway's RSA public key (PEM) for pre-call notices; empty: no notices are sent.
    precall_key_file: str = field(default_factory=lambda: _env("IVR_PRECALL_PUBLIC_KEY_FILE", ""))
    # Recorded calls (docs/recordings.md): where Asterisk's MixMonitor writes the clear file (its monitor
    # folder + ivr/, seen from the daemon: the sandbox's is inside its chroot), where the sealed files
    # are kept (empty: <state>/recordings), and how often the retention sweep runs.
    recording_spool: Path = field(default_factory=lambda: Path(
        _env("IVR_RECORDING_SPOOL", "/var/spool/asterisk/monitor/ivr")))
    recording_dir: str = field(default_factory=lambda: _env("IVR_RECORDING_DIR", ""))
    recording_sweep_s: float = field(default_factory=lambda: float(_env("IVR_RECORDING_SWEEP_S", "3600")))
    # Tests only, and only with --allow-test-clock: the retention sweep's clock runs this far ahead.
    test_recording_ahead_s: float = field(default_factory=lambda: float(_env("IVR_TEST_RECORDING_AHEAD_S", "0")))

    # Supervisors' steering (docs/steering.md): the folder of the temporary messages' and switches' sounds as
    # Asterisk sees it, and where Asterisk's file system is as seen by `ivr messages` / `ivr switch` ("/" on
    # the Asterisk host; the sandbox's chroot in development).
    steer_sounds: str = field(default_factory=lambda: _env("IVR_STEER_SOUNDS", "/var/lib/asterisk/ivr-steer"))
    asterisk_root: Path = field(default_factory=lambda: Path(_env("IVR_ASTERISK_ROOT", "/")))

    @property
    def store_url(self) -> str:
        """The store for call records, callbacks and the contact registry: IVR_DB_URL, else the embedded
        SQLite file in the state folder."""
        return self.db_url or f"sqlite:///{self.state_dir / 'ivr.db'}"
