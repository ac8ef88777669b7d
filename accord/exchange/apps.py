from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ExchangeConfig(AppConfig):
    name = "accord.exchange"
    label = "exchange"
    verbose_name = _("International exchange")

    def ready(self) -> None:
        from .signals import connect

        connect()
