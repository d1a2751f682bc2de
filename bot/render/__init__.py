"""Messages: Jinja templates -> YAML -> Block Kit, checked against Slack's limits.

`Renderer` is the only way a message is made; `to_text` shows one in a terminal.
"""

from bot.render.renderer import Renderer, check_message
from bot.render.text import Message, to_text

__all__ = ["Message", "Renderer", "check_message", "to_text"]
