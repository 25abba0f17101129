# The device as a whole (BAS-IP contract 7.1 and 8): its description for
# /api/info, reboot and factory reset.
import asyncio

FIRMWARE_VERSION = "1.0.0"
API_VERSION = "2.15.0"
# Seconds between the reboot route's answer and the reboot itself, so the
# answer reaches the client first.
_REBOOT_DELAY_S = 0.3


class System:
    """services: the wiring's Services (board, store, account_store,
    forward_rules, accounts, sip, call_log, settings)."""

    def __init__(self, services, reboot=None):
        self._services = services
        self._board = services.board
        self._store = services.store
        self._reboot = reboot
        self.adapter = None  # drivers.adapter.AdapterDriver, when the board has one

    def device_info(self):
        board = self._board
        adapter = self.adapter
        return {
            "firmware_version": FIRMWARE_VERSION,
            "framework_version": FIRMWARE_VERSION,
            "frontend_version": FIRMWARE_VERSION,
            "api_version": API_VERSION,
            "device_name": board.get("device_name", "Entrance panel"),
            "device_type": "panel",
            "device_model": board.get("device_model", "IP-PANEL"),
            "device_serial_number": board.get("device_serial_number", "unknown"),
            "mcu_version": board.get("mcu_version", "unknown"),
            "hybrid_enable": bool(adapter is not None and adapter.present),
            "hybrid_version": (adapter.version or "") if adapter is not None else "",
            "commit": board.get("commit", "unknown"),
        }

    def request_reboot(self):
        async def reboot_later():
            await asyncio.sleep(_REBOOT_DELAY_S)
            if self._reboot is not None:
                self._reboot()

        asyncio.create_task(reboot_later())

    def factory_reset(self):
        """Rules, SIP, password and every setting back to the factory state.
        Every token dies with the password it was issued under (the factory
        password is public); the brute-force counters go too."""
        services = self._services
        self._store.clear()
        if services.account_store is not None:
            services.account_store.clear()
        services.forward_rules.forget_count()
        services.accounts.revoke_all()
        services.accounts.forget_password()
        services.accounts.attempts.clear()
        services.sip.changed()

    def account_state(self):
        """ "ok" (a password was set), "factory" (never changed) or "lost": no
        password record, and its store found damage, so the factory password
        is in force only because the record was destroyed (health, log)."""
        if self._services.settings.password_md5():
            return "ok"
        store = self._services.account_store or self._store
        if store.health()["state"] == "damaged":
            return "lost"
        return "factory"

    def health(self):
        """GET /api/v1/system/health: the stores, the account, the drivers."""
        services = self._services
        adapter = self.adapter
        report = {
            "store": self._store.health(),
            "account": self.account_state(),
            "call_log_dropped": services.call_log.dropped,
            "sip": services.sip.status(),
            "adapter": {
                "configured": adapter is not None,
                "present": bool(adapter is not None and adapter.present),
                "version": adapter.version if adapter is not None else None,
            },
        }
        if services.account_store is not None:
            report["account_store"] = services.account_store.health()
        return report
