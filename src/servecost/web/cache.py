"""Recent answers by request: the core is deterministic, and the explorer asks the same scenarios
again and again (page loads, shared links, a slider moved back). Least recently used answers go
first once the texts held pass MAX_BYTES. Used from the event loop only, so it takes no lock."""

from collections import OrderedDict

MAX_BYTES = 64_000_000


class Answers:
    def __init__(self, max_bytes: int = MAX_BYTES):
        self.max_bytes = max_bytes
        self.bytes = 0
        self._texts: OrderedDict[tuple, str] = OrderedDict()

    def get(self, key: tuple) -> str | None:
        text = self._texts.get(key)
        if text is not None:
            self._texts.move_to_end(key)
        return text

    def put(self, key: tuple, text: str) -> None:
        if key in self._texts or len(text) > self.max_bytes:
            return
        self._texts[key] = text
        self.bytes += len(text)
        while self.bytes > self.max_bytes:
            _, old = self._texts.popitem(last=False)
            self.bytes -= len(old)
