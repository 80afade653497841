"""The media lab (``virtual_lab.py``) on a network that blocks UDP: coturn runs in the
namespace, configured as ``preau turn config`` writes it, and nftables drops every UDP
packet except those between coturn's relay ports and Janus. So a browser can reach Janus
only through TURN over TCP, as a pupil behind a strict school or mobile firewall does."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from preau.domain.turn import CoturnOptions, coturn_configuration
from tests.browser.virtual_lab import Lab, media_lab, run

TURNSERVER = "/usr/bin/turnserver"
NFT = "/usr/sbin/nft"
TURN_SECRET = "media-turn-secret-0123456789abcdef"
TURN_PORT = 3478
RELAY_PORTS = (62000, 62100)  # above the namespace's ephemeral ports (32768–60999)
# Statistics of every peer connection of the class page: audio received and its energy,
# video frames decoded, media sent, and the local end of each selected candidate pair.
STATS = """async () => {
  const state = window.preauClassroom;
  const out = { packets: 0, energy: 0, frames: 0, videoInbound: 0, outbound: 0,
                outboundVideo: 0, candidates: [] };
  if (!state) { return out; }
  const handles = [state.publisher, state.screen, ...Object.values(state.subscribers)];
  for (const handle of handles) {
    const pc = handle && handle.webrtcStuff && handle.webrtcStuff.pc;
    if (!pc) { continue; }
    const reports = await pc.getStats();
    const byId = new Map();
    reports.forEach((report) => byId.set(report.id, report));
    reports.forEach((report) => {
      if (report.type === "inbound-rtp" && report.kind === "audio") {
        out.packets += report.packetsReceived || 0;
        out.energy += report.totalAudioEnergy || 0;
      }
      if (report.type === "inbound-rtp" && report.kind === "video") {
        out.videoInbound += 1; out.frames += report.framesDecoded || 0;
      }
      if (report.type === "outbound-rtp") {
        out.outbound += 1;
        if (report.kind === "video") { out.outboundVideo += 1; }
      }
      if (report.type === "transport" && report.selectedCandidatePairId) {
        const pair = byId.get(report.selectedCandidatePairId);
        const local = pair && byId.get(pair.localCandidateId);
        if (local) {
          out.candidates.push({ type: local.candidateType, relay: local.relayProtocol || "" });
        }
      }
    });
  }
  return out;
}"""


def throttle(page: Any, kbps: int) -> None:
    """Chromium's own network emulation: this page's downloads and uploads at ``kbps``."""
    session = page.context.new_cdp_session(page)
    session.send("Network.enable")
    session.send(
        "Network.emulateNetworkConditions",
        {
            "offline": False,
            "latency": 80,
            "downloadThroughput": kbps * 1000 / 8,
            "uploadThroughput": kbps * 1000 / 8,
        },
    )


def missing_turn() -> str | None:
    if not Path(TURNSERVER).exists():
        return "coturn is not installed (apt-get install coturn)"
    if not Path(NFT).exists():
        return "nftables is not installed (apt-get install nftables)"
    return None


@contextmanager
def blocked_udp_lab(tmp_path: Path, pupils: int) -> Iterator[Lab]:
    """The media lab, UDP blocked but for coturn's relay, TURN over TCP handed to pages."""
    extra = {
        "PREAU_TURN_SECRET": TURN_SECRET,
        "PREAU_TURN_URLS": f"turn:127.0.0.2:{TURN_PORT}?transport=tcp",
        "PREAU_TURN_TTL_SECONDS": "3600",
        "PREAU_JANUS_RECORDINGS_DIR": str(tmp_path / "recordings"),
    }
    with media_lab(tmp_path, pupils, extra) as lab:
        inside = ("ip", "netns", "exec", lab.netns)
        config = tmp_path / "turnserver.conf"
        config.write_text(
            coturn_configuration(
                CoturnOptions(
                    secret=TURN_SECRET,
                    realm="preau",
                    listen_ip="127.0.0.2",
                    relay_ip="127.0.0.2",
                    port=TURN_PORT,
                    min_port=RELAY_PORTS[0],
                    max_port=RELAY_PORTS[1],
                    janus_ips=("127.0.0.2",),
                    log_file=str(tmp_path / "turn.log"),
                )
            )
            + f"userdb={tmp_path / 'turndb'}\npidfile={tmp_path / 'turn.pid'}\n"
        )
        coturn = subprocess.Popen(
            [*inside, TURNSERVER, "-c", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            relay = f"{RELAY_PORTS[0]}-{RELAY_PORTS[1]}"
            run(*inside, NFT, "add", "table", "inet", "preau")
            for hook in ("input", "output"):
                run(
                    *inside, NFT, "add", "chain", "inet", "preau", hook,
                    f"{{ type filter hook {hook} priority 0; }}",
                )  # fmt: skip
                run(
                    *inside, NFT, "add", "rule", "inet", "preau", hook,
                    "udp", "sport", "!=", relay, "udp", "dport", "!=", relay, "drop",
                )  # fmt: skip
            time.sleep(0.5)  # coturn binds its listener
            yield lab
        finally:
            coturn.terminate()
            coturn.wait(10)
