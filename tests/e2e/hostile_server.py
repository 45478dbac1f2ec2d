"""A compromised server, as far as an agent can tell: a real WebSocket peer
that speaks protocol v1 and sends whatever a test tells it to, with none
of the real server's checks. Tests use it to show that the host's own
consent (`--restore-to`, `--no-hooks`) holds whatever the server says."""
import json
import queue
import threading
import time
import uuid

from websockets.sync.server import serve

from conftest import envelope


class HostileServer:
    def __init__(self, port: int):
        self.inbox: queue.Queue = queue.Queue()
        self.hello = None
        self._connection = None
        self._connected = threading.Event()
        self._server = serve(self._handle, "127.0.0.1", port)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def _handle(self, connection):
        self._connection = connection
        try:
            for text in connection:
                message = json.loads(text)
                if message["type"] == "hello":
                    self.hello = message["payload"]
                    self._connected.set()
                else:
                    self.inbox.put(message)
        except Exception:  # the agent went away; the test sees it as silence
            pass

    def wait_connected(self, timeout: float = 30) -> dict:
        assert self._connected.wait(timeout), "the agent did not connect"
        return self.hello

    def send(self, msg_type: str, payload: dict) -> None:
        self._connection.send(envelope(msg_type, payload, str(uuid.uuid4())))

    def expect(self, msg_type: str, timeout: float = 30, where=lambda payload: True) -> dict:
        """The payload of the next `msg_type` message that satisfies `where`; others are dropped."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no {msg_type} within {timeout}s")
            try:
                message = self.inbox.get(timeout=remaining)
            except queue.Empty:
                continue
            if message["type"] == msg_type and where(message["payload"]):
                return message["payload"]

    def close(self) -> None:
        self._server.shutdown()
