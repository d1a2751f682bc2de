"""`python -m bot check`: every configuration and template problem, with file and line."""

from __future__ import annotations

from bot.config import Settings
from bot.render import Renderer, RenderError
from bot.samples import contexts


def check_templates(renderer: Renderer) -> list[str]:
    """Render every template with every sample context; the problems found."""
    problems = []
    samples = contexts()
    for name in sorted(set(renderer.templates()) | set(samples)):
        for context in samples.get(name, [{}]):
            try:
                renderer.render(name, **context)
            except RenderError as exc:
                problems.append(str(exc))
                break
            except Exception as exc:  # a missing file, a filter that blew up
                problems.append(f"{name}: {type(exc).__name__}: {exc}")
                break
    return problems


def run_check(settings: Settings) -> int:
    where = (
        settings.config_path
        if settings.config_found
        else f"{settings.config_path} (absent: defaults)"
    )
    print(f"configuration: {where}: ok")
    sources = [n for n in ("liveperson", "livechat") if getattr(settings, n) is not None]
    print(f"sources: {', '.join(sources) or 'none configured'}")
    renderer = Renderer(settings.templates, settings.timezone)
    problems = check_templates(renderer)
    for problem in problems:
        print(f"template error: {problem}")
    if not problems:
        print(
            f"templates: {settings.templates}: "
            f"{len(renderer.templates())} rendered, all valid Block Kit"
        )
    return 1 if problems else 0
