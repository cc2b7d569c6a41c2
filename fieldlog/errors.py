"""The errors domain functions raise; each carries what went wrong, never how the web layer answers it."""


class InvalidInput(Exception):
    """Bad input, with one zh-CN message per field name; nothing was changed."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


class NotFound(Exception):
    """A record that does not exist (or is not visible to the user)."""


class Forbidden(Exception):
    """The user's role does not allow this."""


class Conflict(Exception):
    """The input conflicts with what is stored (e.g. same event id with other content)."""

    def __init__(self, message: str, stored: dict | None = None):
        super().__init__(message)
        self.stored = stored


def one_of(text: str | None, allowed, field: str, message: str) -> str | None:
    """A list filter's value (a state, a kind): None when blank, the value when it is one of `allowed`, else
    InvalidInput naming `field` with `message`."""
    text = (text or "").strip()
    if not text:
        return None
    if text not in allowed:
        raise InvalidInput({field: message})
    return text
