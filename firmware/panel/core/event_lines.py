# The event lines a management server reads (BAS-IP contract 10.2 and 10.3),
# sans-I/O: the message of one call-log event, the syslog line around it, and
# the UTC timestamp written the way the server's pattern accepts.
#
# A deployed server (SmartYard's event service) splits MESSAGE at ":" and ","
# and compares the parts by position, so every text here is fixed [COMPAT] and
# every value put into a message is cleaned of both characters first.
#
# Levels are syslog severities: access and call lines 6 (info), faults 4
# (warning); PRI = facility 16 (local0) * 8 + level.

from panel.core import schedule

LEVEL_WARNING = 4
LEVEL_INFO = 6
_FACILITY_LOCAL0 = 16

DEFAULT_APP = "intercom-panel"  # APP when the settings' tag is empty [CHOICE]

# The text that ends a call line (part 8 after the split).
CALL_ACCEPTED = "call was accepted"
CALL_NOT_ACCEPTED = "call was no accepted"  # sic: the server matches this text
# A missed call whose queue had no target at all (no forward rule) [CHOICE].
NO_TARGET = "none@panel"


def clean(value):
    """A value as a message may hold it: no ':' or ',' (they split fields),
    no spaces at either end (the server trims parts)."""
    text = str(value)
    if ":" in text or "," in text:
        text = text.replace(":", "-").replace(",", "-")
    return text.strip()


def target_text(destination, sip_host=""):
    """A forward destination as 10.2 writes a target: `user@host` for SIP (no
    scheme, no port), `laskomex-10@hybrid` / `vizit-7@hybrid` for an analog
    line; a bare number is a SIP user on the panel's SIP server."""
    if not destination:
        return NO_TARGET
    text = str(destination)
    for system in ("laskomex", "vizit"):
        if text.startswith(system + ":"):
            return "%s-%s@hybrid" % (system, clean(text[len(system) + 1 :]))
    if text.startswith("sip:"):
        text = text[4:]
    user, at, host = text.partition("@")
    if not at:
        if _all_digits(user):
            return "%s@%s" % (user, _host_only(sip_host) or "sip")
        return clean(_host_only(user))  # sip:host alone: the host
    return "%s@%s" % (clean(user), clean(_host_only(host)))


def _all_digits(text):
    if not text:
        return False
    for char in text:
        if not "0" <= char <= "9":
            return False
    return True


def _host_only(text):
    """host of host[:port][;params], or of a sip:host[:port] URI."""
    text = str(text or "")
    if text.startswith("sip:"):
        text = text[4:]
    for separator in (";", ":", ">"):
        text = text.partition(separator)[0]
    return text


def call_line(apartment, target, accepted):
    """Contract 10.3 call lines; part 3 is the number before '@' of target."""
    return "Call: Apartment: %s: %s: Line: Outgoing call. call number: %s: Result: %s" % (
        clean(apartment),
        target,
        clean(apartment),
        CALL_ACCEPTED if accepted else CALL_NOT_ACCEPTED,
    )


def message(event, info, context):
    """(level, MESSAGE) of a call-log event, or None when 10.3 has no line
    for it. context: what the log entry alone does not say: "apartment" (the
    dialled number), "last_target" (the target last tried, as target_text
    wrote it), "sip_host", "code" / "card" (an identifier's number)."""
    info = info or {}
    lock = info.get("lock", 1)
    if event == "outgoing_call":
        if info.get("result") != "answered":
            return None  # only the leg that answered has a line (10.3)
        target = target_text(info.get("destination"), context.get("sip_host", ""))
        return LEVEL_INFO, call_line(
            context.get("apartment") or info.get("forward_number"), target, True
        )
    if event == "outgoing_call_missed":
        return LEVEL_INFO, call_line(
            context.get("apartment") or info.get("forward_number"),
            context.get("last_target") or NO_TARGET,
            False,
        )
    if event == "access_granted_by_call_host":
        target = target_text(info.get("destination"), context.get("sip_host", ""))
        # An analog handset's door key says so in part 3 [CHOICE]; the server
        # reads parts 4 and 5 only.
        how = "Handset" if info.get("via") == "door_button" else "DTMF"
        return LEVEL_INFO, "Access: Call: Lock %d: %s: %s: Door %d opened by call host" % (
            lock,
            how,
            target,
            lock,
        )
    if event == "access_granted_by_personal_code":
        code = clean(context.get("code") or "")
        return (
            LEVEL_INFO,
            "Access: Code: %s: Lock %d: Input: Identifier: Door opened by access code. Info: %s"
            % (code, lock, code),
        )
    if event == "access_granted_by_card":
        card = clean(info.get("card", ""))
        return (
            LEVEL_INFO,
            "Access: Card: Reader %d: Lock %d: %s: Identifier: Door opened by card. Info: %s"
            % (info.get("reader", 1), lock, card, card),
        )
    if event == "access_granted_by_exit_button":
        return LEVEL_INFO, "Access: Lock %d: Door opened by exit button" % lock
    if event == "door_sensor_opened":
        return LEVEL_INFO, "Access: Lock %d: Door was opened with door sensor" % lock
    if event == "door_sensor_closed":
        return LEVEL_INFO, "Access: Lock %d: Door was closed with door sensor" % lock
    if event == "access_granted_by_api_call":
        return LEVEL_INFO, "Access: Lock %d: API: Door opened by API call" % lock
    if event == "access_denied":
        if info.get("identifier_type") == "card":
            return (
                LEVEL_INFO,
                "Access: Card: Reader %d: Lock %d: %s: Identifier: Access denied"
                % (info.get("reader", 1), lock, clean(info.get("card", ""))),
            )
        code = clean(context.get("code") or info.get("code") or "")
        return LEVEL_INFO, "Access: Code: %s: Lock %d: Input: Identifier: Access denied" % (
            code,
            lock,
        )
    if event == "incoming_call_from_monitor":
        # [D] An incoming SIP call the panel answers (docs/incoming-calls.md);
        # the caller written as a target of 10.2.
        return LEVEL_INFO, "System: Call: Incoming from %s" % target_text(info.get("caller"))
    text = _SYSTEM_LINES.get(event)
    if text is not None:
        return text
    return None


# System lines [CHOICE] (10.3 last row): faults at level 4.
_SYSTEM_LINES = {
    "sip_registration_lost": (LEVEL_WARNING, "System: SIP: Registration lost"),
    "sip_registration_restored": (LEVEL_INFO, "System: SIP: Registration restored"),
    "adapter_lost": (LEVEL_WARNING, "System: Adapter: Connection lost"),
    "adapter_restored": (LEVEL_INFO, "System: Adapter: Connection restored"),
    "device_booted": (LEVEL_INFO, "System: Device booted"),
}


def dropped_line(count):
    """The events_dropped line (10.1): how many lines the full queue lost."""
    return LEVEL_WARNING, "System: Events: events_dropped %d" % count


def utc_timestamp(milliseconds):
    """Unix milliseconds as 2026-11-29T14:05:09.120Z (proleptic Gregorian,
    by arithmetic: MicroPython's gmtime has a 2000 epoch on some ports)."""
    seconds, millis = divmod(int(milliseconds), 1000)
    days, second_of_day = divmod(seconds, 86400)
    year, month, day = schedule.civil_from_days(days)
    return "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ" % (
        year,
        month,
        day,
        second_of_day // 3600,
        second_of_day // 60 % 60,
        second_of_day % 60,
        millis,
    )


def _token(text, fallback):
    # HOSTNAME and APP hold no spaces (10.2).
    text = str(text or "").replace(" ", "_")
    return text or fallback


def line(level, milliseconds, host, app, text):
    """One line of 10.2: <PRI>TIMESTAMP HOSTNAME APP MESSAGE."""
    return "<%d>%s %s %s %s" % (
        _FACILITY_LOCAL0 * 8 + level,
        utc_timestamp(milliseconds),
        _token(host, "-"),
        _token(app, DEFAULT_APP),
        text,
    )


def syslog_datagram(level, milliseconds, host, app, text):
    """The same event as an RFC 5424 datagram (10.1, transport "udp")."""
    return "<%d>1 %s %s %s - - - %s" % (
        _FACILITY_LOCAL0 * 8 + level,
        utc_timestamp(milliseconds),
        _token(host, "-"),
        _token(app, DEFAULT_APP),
        text,
    )
