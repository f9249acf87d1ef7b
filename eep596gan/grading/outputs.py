"""What one execute request produced: its outputs, capped as they arrive, and its verdict.

The cap keeps a student's million printed lines from reaching the grader's memory or the
feedback page: stdout and stderr have `max_text` characters each (then one truncation note),
rich outputs `max_data` characters in all and at most MAX_OUTPUTS entries; an error's value
and traceback are capped too. Pure; no kernel.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Execution", "Outputs", "MAX_OUTPUTS"]

MAX_OUTPUTS = 200  # outputs kept per request (a stream's consecutive texts are one output)
MAX_FRAMES, MAX_FRAME = 200, 20_000  # traceback entries kept, characters kept of each


@dataclass
class Execution:
    """The result of one execute request."""

    status: str = "ok"  # ok | error | timeout | died
    outputs: list[dict] = field(default_factory=list)
    execution_count: int | None = None
    ename: str = ""
    evalue: str = ""
    traceback: list[str] = field(default_factory=list)
    stdout: str = ""  # all stdout text (capped), for guard reports
    interrupted: bool = False  # a timeout interrupted the cell
    truncated: int = 0  # characters dropped by the output cap
    user_expressions: dict = field(default_factory=dict)  # the reply's, by key


class Outputs:
    """Accumulates iopub outputs for one request, capped as they arrive."""

    def __init__(self, max_text: int, max_data: int):
        self.max_text, self.max_data = max_text, max_data
        self.outputs: list[dict] = []
        self.text = {"stdout": 0, "stderr": 0}
        self.data = 0
        self.stdout: list[str] = []
        self.truncated = 0
        self.noted: set[str] = set()  # streams whose truncation note was written

    def add(self, msg_type: str, content: dict) -> None:
        """Record one iopub message of the request (stream, display, result, error, clear)."""
        if msg_type == "stream":
            name = content.get("name", "stdout")
            text = str(content.get("text", ""))
            room = self.max_text - self.text.get(name, 0)
            if len(text) > room:
                self.truncated += len(text) - max(room, 0)
                text = text[:max(room, 0)]
                if name not in self.noted:
                    self.noted.add(name)
                    text += f"\n[output truncated by the grader after {self.max_text} characters]\n"
            self.text[name] = self.text.get(name, 0) + len(text)
            if not text:
                return
            if name == "stdout":
                self.stdout.append(text)
            last = self.outputs[-1] if self.outputs else None
            if last and last["output_type"] == "stream" and last["name"] == name:
                last["text"] += text
            else:
                self.outputs.append({"output_type": "stream", "name": name, "text": text})
        elif msg_type in ("display_data", "execute_result"):
            data = content.get("data", {})
            size = sum(len(str(v)) for v in data.values())
            if self.data + size > self.max_data or len(self.outputs) >= MAX_OUTPUTS:
                self.truncated += size
                return
            self.data += size
            out = {"output_type": msg_type, "data": data, "metadata": content.get("metadata", {})}
            if msg_type == "execute_result":
                out["execution_count"] = content.get("execution_count")
            self.outputs.append(out)
        elif msg_type == "error":
            frames = content.get("traceback", [])[:MAX_FRAMES]
            self.outputs.append({"output_type": "error", "ename": str(content.get("ename", "")),
                                 "evalue": str(content.get("evalue", ""))[:self.max_text],
                                 "traceback": [str(t)[:MAX_FRAME] for t in frames]})
        elif msg_type == "clear_output":
            self.outputs = [o for o in self.outputs if o["output_type"] == "error"]
