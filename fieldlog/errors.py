"""The error a domain function raises for bad input: a message in Chinese per field."""


class InvalidInput(Exception):
    """Bad input, with one zh-CN message per field name; nothing was changed."""

    def __init__(self, errors: dict[str, str], location: str = "body"):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors
        self.location = location  # where the fields were: "body" or "query"

    def at(self, location: str) -> "InvalidInput":
        """The same errors, placed in another part of the request (e.g. query parameters)."""
        return InvalidInput(self.errors, location)

    def api_detail(self) -> list[dict]:
        """FastAPI-style 422 detail naming each field."""
        return [{"loc": [self.location, *field.split(".")], "msg": msg, "type": "value_error"}
                for field, msg in self.errors.items()]


class NotFound(Exception):
    """A record that does not exist (or is not visible to the user)."""


class Forbidden(Exception):
    """The user's role does not allow this."""


class Conflict(Exception):
    """The request conflicts with what is stored (e.g. same event id with other content)."""

    def __init__(self, message: str, stored: dict | None = None):
        super().__init__(message)
        self.stored = stored
