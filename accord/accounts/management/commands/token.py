"""``accord token USERNAME``: create an API token and print it, for scripts."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accord.accounts import services
from accord.accounts.models import User


class Command(BaseCommand):
    help = (
        "Create an API token for a person and print only the token on stdout, "
        "so a script can capture it. Read-only unless --write is given."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--write", action="store_true", help="Allow the token to change data.")
        parser.add_argument("--name", default="Command line", help="What the token is for.")
        parser.add_argument("--days", type=int, default=90, help="Days until it expires.")

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"No account with the username '{options['username']}'.")
        if not user.is_active:
            raise CommandError(f"The account '{user.get_username()}' is deactivated.")
        try:
            _token, raw = services.create_token(
                user,
                name=options["name"],
                can_write=options["write"],
                expires_in_days=options["days"],
                by="command line",
            )
        except services.AccountError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(raw)
