"""The mail and SMS texts identity sends (verification codes, password resets, lockout alerts),
in English and Simplified Chinese, chosen by the recipient's locale; other locales fall back to
English. Each becomes one outbox message in the transaction that causes it.
"""

from __future__ import annotations

from dataclasses import dataclass

from walletbridge.domain.identity import Channel
from walletbridge.domain.ledger import TenantId
from walletbridge.domain.outbox import OutboxMessage, Topic


@dataclass(frozen=True, slots=True)
class Text:
    subject: str
    body: str


_TEXTS: dict[str, dict[str, Text]] = {
    "en": {
        "verification": Text(
            "{brand}: your verification code",
            "Your {brand} verification code is {code}. It expires in {minutes} minutes. "
            "If you did not ask for it, ignore this message.",
        ),
        "already-registered": Text(
            "{brand}: sign-up attempt",
            "Someone tried to sign up to {brand} with this address, which already has an "
            "account. Sign in, or reset your password if you forgot it.",
        ),
        "password-reset": Text(
            "{brand}: reset your password",
            "Use this code to choose a new password for {brand}: {token} . It expires in "
            "{minutes} minutes and works once. If you did not ask for it, ignore this message.",
        ),
        "second-factor-blocked": Text(
            "{brand}: sign-in blocked",
            "There were {failures} wrong authentication codes in a row on your {brand} account, "
            "so codes are refused for {minutes} minutes. If this was not you, change your "
            "password.",
        ),
    },
    "zh-CN": {
        "verification": Text(
            "{brand}:您的验证码",
            "您的{brand}验证码是 {code},{minutes} 分钟内有效。如非本人操作,请忽略本消息。",
        ),
        "already-registered": Text(
            "{brand}:注册尝试",
            "有人尝试用此地址注册{brand},但该地址已有账户。请直接登录,如忘记密码请重置。",
        ),
        "password-reset": Text(
            "{brand}:重置密码",
            "请使用此代码为{brand}设置新密码:{token} 。{minutes} 分钟内有效,仅可使用一次。"
            "如非本人操作,请忽略本消息。",
        ),
        "second-factor-blocked": Text(
            "{brand}:登录已被暂时锁定",
            "您的{brand}账户连续 {failures} 次输入错误的验证码,{minutes} 分钟内将拒绝验证码。"
            "如非本人操作,请修改密码。",
        ),
    },
}


def compose(
    message_id: str,
    tenant_id: TenantId,
    *,
    channel: Channel,
    to: str,
    locale: str,
    kind: str,
    **fields: str | int,
) -> OutboxMessage:
    """One outbox message of ``kind`` for an email address or phone number."""
    text = _TEXTS.get(locale, _TEXTS["en"])[kind]
    subject = text.subject.format(**fields)
    body = text.body.format(**fields)
    if channel is Channel.EMAIL:
        payload: dict[str, str | int | bool | None] = {
            "to": to,
            "subject": subject,
            "body": body,
            "locale": locale,
        }
        return OutboxMessage(message_id, tenant_id, Topic.EMAIL, payload)
    return OutboxMessage(message_id, tenant_id, Topic.SMS, {"to": to, "text": body})
