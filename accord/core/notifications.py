"""Outgoing messages. E-mail is sent by a background task after the change
that caused it has been committed, so a rolled-back action sends nothing."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django_tasks import task


@task()
def deliver_email(recipients: list[str], subject: str, body: str) -> int:
    return send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients)


def send_templated_email(recipients: list[str], template: str, context: dict) -> None:
    """Render ``<template>_subject.txt`` and ``<template>_body.txt`` and queue the mail."""
    context = {"site_url": settings.SITE_URL, "network_name": settings.NETWORK_NAME, **context}
    subject = " ".join(render_to_string(f"{template}_subject.txt", context).split())
    body = render_to_string(f"{template}_body.txt", context)
    recipients = [r for r in recipients if r]
    if not recipients:
        return
    transaction.on_commit(lambda: deliver_email.enqueue(recipients, subject, body))
