"""A DNS server on a loopback UDP port whose answers the test scripts: for each name, a list of
answers given in turn (the last one repeats), each an IPv4 address or "SERVFAIL"/"NXDOMAIN".
It is how tests make two look-ups of one name disagree (DNS rebinding) or fail."""

from __future__ import annotations

import socket
import struct
import threading
from collections import defaultdict


class ScriptedDNSServer:
    def __init__(self, answers: dict[str, list[str]]):
        self.answers = {name.lower().rstrip("."): list(seq) for name, seq in answers.items()}
        self.queries: defaultdict[str, int] = defaultdict(int)
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def address(self) -> str:
        host, port = self._sock.getsockname()
        return f"{host}:{port}"

    def __enter__(self) -> ScriptedDNSServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self._sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                packet, peer = self._sock.recvfrom(512)
            except (TimeoutError, OSError):
                continue
            reply = self._answer(packet)
            if reply:
                self._sock.sendto(reply, peer)

    def _answer(self, packet: bytes) -> bytes | None:
        if len(packet) < 12:
            return None
        ident, _flags, qdcount = struct.unpack("!HHH", packet[:6])
        if qdcount != 1:
            return None
        labels, pos = [], 12
        while pos < len(packet) and packet[pos]:
            length = packet[pos]
            labels.append(packet[pos + 1: pos + 1 + length].decode("ascii", "replace"))
            pos += 1 + length
        qtype, _qclass = struct.unpack("!HH", packet[pos + 1: pos + 5])
        question = packet[12: pos + 5]
        name = ".".join(labels).lower()
        script = self.answers.get(name)
        if qtype not in (1, 255) or not script:  # A (or ANY) records; anything else: an empty answer
            return struct.pack("!HHHHHH", ident, 0x8180, 1, 0, 0, 0) + question
        turn = self.queries[name]
        self.queries[name] += 1
        answer = script[min(turn, len(script) - 1)]
        if answer in ("SERVFAIL", "NXDOMAIN"):
            code = 2 if answer == "SERVFAIL" else 3
            return struct.pack("!HHHHHH", ident, 0x8180 | code, 1, 0, 0, 0) + question
        record = struct.pack("!HHHIH", 0xC00C, 1, 1, 0, 4) + socket.inet_aton(answer)
        return struct.pack("!HHHHHH", ident, 0x8180, 1, 1, 0, 0) + question + record
