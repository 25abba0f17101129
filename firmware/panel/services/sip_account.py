# The panel's SIP account (BAS-IP contract 5): keeps the SIP user agent the
# board hands in registered as the settings say, answers the status of 5.3
# from what really happened, and logs a lost registration.
from panel.services.settings import SIP_ENABLE


class SipAccount:
    def __init__(self, settings, call_log):
        self._settings = settings
        self._call_log = call_log
        self.user_agent = None  # drivers.sip_ua.SipUserAgent, when the board has a network
        self._registered = False
        self._lost = False  # a loss was logged and no success since

    def attach(self, user_agent):
        """The board's user agent; registers now and again whenever SIP changes."""
        self.user_agent = user_agent
        self.changed()

    def enabled(self):
        return self._settings.sip_enabled()

    def account(self):
        return self._settings.sip_account()

    def set_enabled(self, document):
        self._settings.write(SIP_ENABLE, document)
        self.changed()

    def changed(self):
        """SIP settings or enable changed: (re-)register or unregister. The
        status then reads OFFLINE (disabled) or ERROR (enabled, no account)."""
        if self.user_agent is None:
            return
        account = self.account()
        if self.enabled() and account["proxy"] and account["user"]:
            if account.get("transport") == "tls":
                account["tls"] = self._settings.sip_tls()  # the CA file [D]
            self.user_agent.register(account)
        else:
            self.user_agent.unregister()

    def on_registration(self, detail):
        """The user agent's registration event: a lost registration is logged,
        and so is the first success after it (both also go to the server)."""
        registered = detail == "OK"
        if self._registered and not registered and self.enabled():
            self._call_log.add("sip_registration_lost", {"status": detail})
            self._lost = True
        elif registered and self._lost:
            self._call_log.add("sip_registration_restored", {"status": detail})
            self._lost = False
        elif not registered and not self.enabled():
            self._lost = False  # switched off: nothing to restore
        self._registered = registered

    def status(self):
        """Contract 5.3: OFFLINE while disabled, else the user agent's
        registration state (ERROR when there is none)."""
        if self.user_agent is not None:
            status = self.user_agent.status()
            if not self.enabled():
                status["sip_status"] = "OFFLINE"
            elif status["sip_status"] == "OFFLINE":
                # Enabled but not registering (no account yet): failing.
                status["sip_status"] = "ERROR"
            return status
        return {
            "sip_status": "ERROR" if self.enabled() else "OFFLINE",
            "register_last_attempt": None,
        }

    def registered(self):
        return self.status()["sip_status"] == "OK"
