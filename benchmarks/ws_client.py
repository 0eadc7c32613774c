"""A Streamlit session driven over the app's own websocket, as its frontend drives it, without a browser.

The load benchmark's second kind of client: it sends the frontend's messages (``BackMsg`` protobufs: a rerun
with the page and the widget values, a button's trigger, a fragment's id), reads the server's
``ForwardMsg``s (elements, ``script_finished``) and fetches every image the page shows over HTTP once, as a
browser's cache would. It costs a few milliseconds of CPU per run, so the figures it gives are the
server's, as they are when every user's browser runs on the user's own machine.
"""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import httpx
import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

_FINISHED = ForwardMsg.DESCRIPTOR.fields_by_name["script_finished"].enum_type.values_by_name
DONE = {_FINISHED[n].number for n in ("FINISHED_SUCCESSFULLY", "FINISHED_WITH_COMPILE_ERROR",
                                       "FINISHED_FRAGMENT_RUN_SUCCESSFULLY")}
FOR_RERUN = _FINISHED["FINISHED_EARLY_FOR_RERUN"].number  # the run goes on as a new one (``st.rerun``)
MEDIA = "/media/"


@dataclass
class Element:
    """One element the page shows: its kind (``text_input``, ``button``, ``heading``…), its proto, and the
    fragment that drew it ('' for the page's own run)."""
    kind: str
    proto: object
    fragment: str

    @property
    def label(self) -> str:
        return getattr(self.proto, "label", "") or getattr(self.proto, "body", "") or getattr(self.proto, "text", "")


@dataclass
class Session:
    """One browser tab's worth of Streamlit session: ``open`` a page, then ``type`` into and ``click`` on its
    widgets; each returns the seconds from sending the message until the run it caused finished (with the
    runs it handed over to by ``st.rerun``). ``media_s``: how long the images that run showed took to fetch."""
    url: str
    timeout: float = 300
    elements: dict[tuple[int, ...], Element] = field(default_factory=dict)
    states: dict[str, WidgetState] = field(default_factory=dict)
    page: str = ""
    _ws: object = None
    _reader: asyncio.Task | None = None
    media_s: float = 0.0
    _finished: asyncio.Event = field(default_factory=asyncio.Event)
    _fetched: set[str] = field(default_factory=set)
    _awaiting_start: bool = False  # the next run to start is the one this session's last message caused
    _run_id: str = ""  # that run, whose end ``_finished`` waits for
    _compile_errors: list[str] = field(default_factory=list)
    _failure: BaseException | None = None  # what stopped the reader, if not the session's own close
    _page_hash: str = ""
    _http: httpx.AsyncClient | None = None

    async def open(self, page: str) -> float:
        """Connect a new session (a page load) on ``page`` (its URL path, e.g. ``Neighbours``)."""
        await self.close()
        self.page, self.elements, self.states, self._page_hash = page, {}, {}, ""
        ws_url = self.url.replace("http", "ws", 1) + "/_stcore/stream"
        self._ws = await websockets.connect(ws_url, subprotocols=["streamlit"], max_size=None)
        self._http = httpx.AsyncClient(base_url=self.url, timeout=self.timeout)
        self._reader = asyncio.create_task(self._read())
        return await self._rerun()

    async def type(self, label: str, text: str) -> float:
        """Type ``text`` into the text input labelled ``label`` and press Enter."""
        widget = self.find("text_input", label)
        self.states[widget.proto.id] = WidgetState(id=widget.proto.id, string_value=text)
        return await self._rerun(widget.fragment)

    async def click(self, label_start: str) -> float:
        """Click the first button whose label starts with ``label_start``."""
        widget = self.find("button", label_start, prefix=True)
        return await self._rerun(widget.fragment, WidgetState(id=widget.proto.id, trigger_value=True))

    async def wait_for_text(self, start: str) -> None:
        """Until some text on the page starts with ``start`` (a run the server started by itself may follow
        the one an action caused, e.g. after ``st.rerun``)."""
        deadline = time.perf_counter() + self.timeout
        while not any(t.startswith(start) for t in self.texts()):
            if time.perf_counter() > deadline:
                raise TimeoutError(f"no text starting {start!r} on {self.page} within {self.timeout:.0f} s")
            await asyncio.sleep(0.01)

    def find(self, kind: str, label: str, prefix: bool = False) -> Element:
        for _, element in sorted(self.elements.items()):
            if element.kind == kind and (element.label.startswith(label) if prefix else element.label == label):
                return element
        raise LookupError(f"no {kind} labelled {label!r} on {self.page}")

    def texts(self) -> list[str]:
        """Every heading, text, caption and progress text on the page, in page order."""
        return [e.label for _, e in sorted(self.elements.items()) if e.label and e.kind != "button"]

    def errors(self) -> list[str]:
        """Exceptions and error boxes on the page."""
        out = list(self._compile_errors)
        for _, e in sorted(self.elements.items()):
            if e.kind == "exception":
                out.append(f"{e.proto.type}: {e.proto.message}")
            elif e.kind == "alert" and e.proto.format == type(e.proto).Format.Value("ERROR"):
                out.append(e.proto.body)
        return out

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
            await self._reader  # never raises: a failure is kept in ``_failure``
            await self._http.aclose()
            self._ws = None

    async def _rerun(self, fragment: str = "", trigger: WidgetState | None = None) -> float:
        msg = BackMsg()
        state = msg.rerun_script
        state.page_name = self.page
        state.page_script_hash = self._page_hash  # the page the server said it ran, as the frontend sends it
        state.fragment_id = fragment
        state.widget_states.widgets.extend(self.states.values())
        if trigger is not None:
            state.widget_states.widgets.append(trigger)
        self._finished.clear()
        self._awaiting_start, self._run_id = True, ""
        start = time.perf_counter()
        await self._ws.send(msg.SerializeToString())
        finished = asyncio.ensure_future(self._finished.wait())
        done, _ = await asyncio.wait({finished, self._reader}, timeout=self.timeout,
                                     return_when=asyncio.FIRST_COMPLETED)
        if finished not in done:
            finished.cancel()
            if self._reader in done:
                raise ConnectionError(f"the server closed the session on {self.page}: {self._failure!r}")
            raise TimeoutError(f"no run finished within {self.timeout:.0f} s on {self.page}")
        elapsed = time.perf_counter() - start
        start = time.perf_counter()
        await self._fetch_media()
        self.media_s = time.perf_counter() - start
        return elapsed

    async def _read(self) -> None:
        try:
            async for payload in self._ws:
                msg = ForwardMsg.FromString(payload)
                kind = msg.WhichOneof("type")
                run = msg.metadata.run
                if kind == "new_session":  # a run starts: it draws the page, or its fragments, again
                    fragments = set(run.fragment_ids)
                    self.elements = {p: e for p, e in self.elements.items() if fragments and e.fragment not in fragments}
                    if not fragments:
                        self._compile_errors = []
                    if self._awaiting_start:
                        self._awaiting_start, self._run_id = False, run.script_run_id
                elif kind == "session_event" and msg.session_event.HasField("script_compilation_exception"):
                    error = msg.session_event.script_compilation_exception
                    self._compile_errors.append(f"{error.type}: {error.message}")
                elif kind == "navigation":  # the page the server ran, which the frontend names in what it sends
                    self._page_hash = msg.navigation.page_script_hash
                elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
                    element = msg.delta.new_element
                    which = element.WhichOneof("type")
                    self.elements[tuple(msg.metadata.delta_path)] = Element(which, getattr(element, which),
                                                                            msg.delta.fragment_id)
                elif kind == "script_finished" and run.script_run_id == self._run_id:
                    if msg.script_finished == FOR_RERUN:  # the interaction goes on in the next run
                        self._awaiting_start = True
                    elif msg.script_finished in DONE:
                        self._finished.set()
        except websockets.ConnectionClosed:
            pass
        except Exception as exc:  # a message this client cannot read: the waits report it
            self._failure = exc

    async def _fetch_media(self) -> None:
        """GET each image URL the page shows that this session has not fetched yet (a browser's cache)."""
        urls = {u for e in self.elements.values() for u in _media_urls(e.proto)} - self._fetched
        for url in sorted(urls):
            response = await self._http.get(url)
            response.raise_for_status()
            self._fetched.add(url)


def _media_urls(proto) -> list[str]:
    """Every ``/media/…`` URL anywhere in an element's proto."""
    out = []
    for descriptor, value in proto.ListFields():
        values = value if descriptor.is_repeated else [value]
        for v in values:
            if isinstance(v, str) and v.startswith(MEDIA):
                out.append(v)
            elif hasattr(v, "ListFields"):
                out += _media_urls(v)
    return out
