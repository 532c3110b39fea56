"""The review page's local web server: one HTML page, its script and style, and a JSON API.

It listens on 127.0.0.1 only, on a random port, and refuses (403) every request without the
random token of this run, compared in constant time. No endpoint takes a path: fields are
addressed by CSV row number, so only the images of the CSV's own fields can be served.

    GET  /?token=T                      the page
    GET  /static/review.{js,css}?token=T
    GET  /api/items?order=O             the fields to review, in order O, with progress
    GET  /api/crop/ROW?token=T          the field's image (PNG)
    POST /api/decision  {"row": ROW, "value": "42"}, {"row": ROW, "illegible": true}, or
                        {"row": ROW, "clear": true} (back to undecided); a field already
                        decided may be decided again
    POST /api/finish    the person is done: the server stops and the review goes on to export
                        (POSTs carry the token in the X-Review-Token header)
"""

from __future__ import annotations

import hmac
import json
import re
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from digitize.interrupts import terminate_as_interrupt
from digitize.review.crops import CropSource
from digitize.review.store import ORDERS, ReviewStore

STATIC = Path(__file__).parent / "static"
FILES = {  # the only files served: a fixed list, never a path from the request
    "/static/review.js": ("review.js", "text/javascript; charset=utf-8"),
    "/static/review.css": ("review.css", "text/css; charset=utf-8"),
}
CROP_PATH = re.compile(r"/api/crop/([0-9]{1,9})")
POSTS = ("/api/decision", "/api/finish")
TOKEN_HEADER = "X-Review-Token"
MAX_BODY = 4096
STOP_WAIT_S = 120  # for requests in flight; the slowest is a crop re-read from a big PDF page
SECURITY_HEADERS = {
    # The page runs its own script only; data is inserted as text, and this is the backstop.
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",  # the token is in the URL
    "Cache-Control": "no-store",
}


class ActiveRequests:
    """Requests being answered. The server's threads are daemons, so an idle browser
    connection cannot hold up Ctrl-C; stopping waits for these instead: a save finishes, and
    no thread is left inside TensorFlow (rendering a crop) when the interpreter exits, which
    aborts the process."""

    def __init__(self) -> None:
        self._count = 0
        self._idle = threading.Condition()

    def __enter__(self) -> None:
        with self._idle:
            self._count += 1

    def __exit__(self, *exception) -> None:
        with self._idle:
            self._count -= 1
            self._idle.notify_all()

    def wait(self, timeout: float) -> None:
        with self._idle:
            self._idle.wait_for(lambda: self._count == 0, timeout)


@dataclass
class ReviewApp:
    store: ReviewStore
    crops: CropSource
    token: str
    order: str = "confidence"
    requests: ActiveRequests = field(default_factory=ActiveRequests)
    finished: threading.Event = field(default_factory=threading.Event)  # Finish was pressed


class Stopped(StrEnum):
    FINISHED = "finished"  # the Finish button (POST /api/finish)
    INTERRUPTED = "interrupted"  # Ctrl-C or SIGTERM


@dataclass
class RunningServer:
    url: str
    server: QuietServer
    thread: threading.Thread

    @property
    def app(self) -> ReviewApp:
        return self.server.review  # type: ignore[attr-defined]

    def wait(self) -> None:
        """Until Finish is pressed in the page or the server stops; Ctrl-C
        (KeyboardInterrupt) reaches the caller."""
        # Short waits: a signal is handled between them.
        while self.thread.is_alive() and not self.app.finished.wait(0.5):
            pass

    def stop(self) -> None:
        self.server.shutdown()  # no new requests
        self.app.requests.wait(STOP_WAIT_S)
        self.server.server_close()
        self.thread.join()


def start_server(
    store: ReviewStore,
    crops: CropSource,
    order: str = "confidence",
    host: str = "127.0.0.1",
    port: int = 0,
) -> RunningServer:
    """Serve the review page in a background thread; the URL carries a fresh token."""
    if order not in ORDERS:
        raise ValueError(f"unknown order {order!r}")
    token = secrets.token_urlsafe(16)
    server = QuietServer((host, port), ReviewHandler)
    server.review = ReviewApp(store=store, crops=crops, token=token, order=order)  # type: ignore[attr-defined]
    # A short poll: stopping (Ctrl-C, a test's teardown) waits for at most one poll.
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.1},
        name="digitize-review",
        daemon=True,
    )
    thread.start()
    return RunningServer(
        url=f"http://{host}:{server.server_port}/?token={token}", server=server, thread=thread
    )


def serve_until_finished(
    store: ReviewStore, crops: CropSource, order: str, announce: Callable[[str], None]
) -> Stopped:
    """Serve until Finish in the page, Ctrl-C or SIGTERM; `announce` gets the one line with
    the URL. Every decision is saved as it is made, so each way of stopping loses nothing."""
    server = start_server(store, crops, order)
    stopped = Stopped.FINISHED
    try:
        # SIGTERM (a closed terminal session, a service manager) stops as Ctrl-C does, so
        # the corrections still reach the labelled-digits folder afterwards.
        with terminate_as_interrupt():
            announce(f"Review at {server.url}  (Finish in the page, or Ctrl-C, to stop)")
            server.wait()
    except KeyboardInterrupt:
        stopped = Stopped.INTERRUPTED  # a way to stop: every decision is saved already
    finally:
        server.stop()
    return stopped


class QuietServer(ThreadingHTTPServer):
    # The listen backlog. socketserver's 5 is for a server that answers as fast as requests
    # come; a page saving decisions quickly, or a script posting a batch of them, sends
    # bursts, and connections past the backlog were reset (11 of 40 concurrent POSTs).
    request_queue_size = 128

    def handle_error(self, request, client_address) -> None:
        pass  # e.g. the browser closing a connection mid-image: no traceback in the terminal


class ReviewHandler(BaseHTTPRequestHandler):
    server_version = "digitize-review"
    sys_version = ""
    timeout = 30  # a silent connection must not hold Ctrl-C's shutdown forever

    @property
    def app(self) -> ReviewApp:
        return self.server.review  # type: ignore[attr-defined]

    # --- routing ---------------------------------------------------------------------------

    def do_GET(self) -> None:
        with self.app.requests:
            self._get()

    def do_POST(self) -> None:
        with self.app.requests:
            self._post()

    def _get(self) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        if not self._allowed(query.get("token", [""])[0] or self.headers.get(TOKEN_HEADER, "")):
            return self._error(HTTPStatus.FORBIDDEN, "missing or wrong token")
        if url.path == "/":
            return self._page()
        if url.path in FILES:
            name, kind = FILES[url.path]
            return self._send(HTTPStatus.OK, (STATIC / name).read_bytes(), kind)
        if url.path == "/api/items":
            return self._items(query.get("order", [self.app.order])[0])
        match = CROP_PATH.fullmatch(url.path)
        if match:
            return self._crop(int(match.group(1)))
        return self._error(HTTPStatus.NOT_FOUND, "not found")

    def _post(self) -> None:
        # The header, not the query: a form on another site can neither set it nor read it.
        if not self._allowed(self.headers.get(TOKEN_HEADER, "")):
            return self._error(HTTPStatus.FORBIDDEN, "missing or wrong token")
        path = urlsplit(self.path).path
        if path not in POSTS:
            return self._error(HTTPStatus.NOT_FOUND, "not found")
        if path == "/api/finish":
            return self._finish()
        self._decision()

    def _allowed(self, token: str) -> bool:
        # The Host check stops DNS rebinding: another site's name resolving to 127.0.0.1.
        host = self.headers.get("Host", "")
        port = self.server.server_port  # type: ignore[attr-defined]
        if host not in (f"127.0.0.1:{port}", f"localhost:{port}"):
            return False
        return hmac.compare_digest(token.encode(), self.app.token.encode())

    # --- endpoints -------------------------------------------------------------------------

    def _page(self) -> None:
        # The token is the only thing put into the HTML, and it is URL-safe base64 by birth.
        html = (STATIC / "review.html").read_text(encoding="utf-8")
        body = html.replace("{{token}}", self.app.token).encode("utf-8")
        self._send(HTTPStatus.OK, body, "text/html; charset=utf-8")

    def _items(self, order: str) -> None:
        if order not in ORDERS:
            return self._error(HTTPStatus.BAD_REQUEST, f"order must be one of {', '.join(ORDERS)}")
        store = self.app.store
        done, total = store.counts()
        self._json(
            HTTPStatus.OK,
            {
                "csv": store.path.name,
                "order": order,
                "done": done,
                "total": total,
                "items": [item.as_json() for item in store.items(order)],
            },
        )

    def _crop(self, row: int) -> None:
        try:
            image = self.app.crops.png(row)
        except Exception as error:  # e.g. the model cannot load: say so, keep serving
            return self._error(HTTPStatus.INTERNAL_SERVER_ERROR, f"cannot make the image ({error})")
        if image is None:
            return self._error(HTTPStatus.NOT_FOUND, "no image for this field")
        self._send(HTTPStatus.OK, image, "image/png")

    def _decision(self) -> None:
        header = self.headers.get("Content-Length", "")
        length = int(header) if header.isdigit() else 0
        if not 0 < length <= MAX_BODY:
            return self._error(HTTPStatus.BAD_REQUEST, "expected a small JSON body")
        try:
            body = json.loads(self.rfile.read(length))
            row = body["row"]
            clear = body.get("clear") is True
            value = None if clear or body.get("illegible") else body["value"]
            if type(row) is not int or not (value is None or isinstance(value, str)):
                raise TypeError
        except (ValueError, KeyError, TypeError, AttributeError):
            return self._error(
                HTTPStatus.BAD_REQUEST,
                'expected {"row": N, "value": "digits"}, {"row": N, "illegible": '
                'true} or {"row": N, "clear": true}',
            )
        store = self.app.store
        try:
            item = store.clear(row) if clear else store.decide(row, value)
        except KeyError:
            return self._error(HTTPStatus.NOT_FOUND, "no such field under review")
        except ValueError as error:
            return self._error(HTTPStatus.BAD_REQUEST, str(error))
        except OSError as error:
            return self._error(
                HTTPStatus.INTERNAL_SERVER_ERROR,
                f"cannot save {store.path.name}: {error.strerror or error}",
            )
        done, total = store.counts()
        self._json(HTTPStatus.OK, {"item": item.as_json(), "done": done, "total": total})

    def _finish(self) -> None:
        done, total = self.app.store.counts()
        self._json(HTTPStatus.OK, {"finished": True, "done": done, "total": total})
        self.wfile.flush()
        # After the answer: stopping waits for this request, and the page must hear back.
        self.app.finished.set()

    # --- responses -------------------------------------------------------------------------

    def _json(self, status: HTTPStatus, data: dict) -> None:
        self._send(status, json.dumps(data).encode("utf-8"), "application/json")

    def _error(self, status: HTTPStatus, message: str) -> None:
        self._json(status, {"error": message})

    def _send(self, status: HTTPStatus, body: bytes, kind: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        for name, value in SECURITY_HEADERS.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, format: str, *args) -> None:
        pass  # the terminal shows the URL and the summary, not a line per request
