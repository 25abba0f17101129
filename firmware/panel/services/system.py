# The device as a whole (BAS-IP contract 7.1 and 8): its description for
# /api/info, reboot and factory reset.
import asyncio

FIRMWARE_VERSION = "1.0.0"
API_VERSION = "2.15.0"
# Seconds between the reboot route's answer and the reboot itself, so the
# answer reaches the client first.
_REBOOT_DELAY_S = 0.3


class System:
    def __init__(self, board, store, forward_rules, accounts, sip_account, reboot=None):
        self._board = board
        self._store = store
        self._forward_rules = forward_rules
        self._accounts = accounts
        self._sip_account = sip_account
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
        """Rules, SIP, password and every setting back to the factory state."""
        self._store.clear()
        self._forward_rules.forget_count()
        self._accounts.revoke_all()
        self._accounts.forget_password()
        self._sip_account.changed()
