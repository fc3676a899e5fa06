"""Add-ons (the HCX add-on above all) and HCX activation keys (`hcxEnterpriseSites`).

Installing the HCX add-on through ARM is what makes a cloud's HCX Manager usable: while no HCX add-on
has provisioned, `hcx_edition(side)` is `none` and the HCX simulator answers 503 on every route. When
the install completes, the cloud's `endpoints.hcxCloudManager` points at its HCX simulator and an
activation key appears under `hcxEnterpriseSites` (avs-arm.md §7.3, §7.4, §8.5). Shapes and status
values follow those sections. This module depends on the backend base and the private-cloud family.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sandbox.avs.bodies import AddonBody
from sandbox.avs.exceptions import BadRequest, Conflict
from sandbox.avs.models.base import DURATIONS, ArmResource, Operation, locked
from sandbox.avs.models.clouds import CloudsMixin
from sandbox.core.world import SIDES, Side

__all__ = ["ENTERPRISE_OFFER", "Addon", "AddonsMixin", "HcxEnterpriseSite"]

Edition = Literal["none", "advanced", "enterprise"]
ENTERPRISE_OFFER = "VMware MaaS Cloud Provider (Enterprise)"
# inferred: the pre-Enterprise offer string from older AVS documentation (avs-arm.md §7.3).
ADVANCED_OFFER = "VMware MaaS Cloud Provider"


def edition_of(offer: str | None) -> Edition:
    return "enterprise" if offer and "enterprise" in offer.lower() else "advanced"


@dataclass(kw_only=True)
class Addon(ArmResource):
    type = "Microsoft.AVS/privateClouds/addons"
    addon_type: str
    settings: dict[str, Any] = field(default_factory=dict)
    # The edition that is live now; an update changes it only when it completes.
    edition: Edition = "none"

    def properties(self) -> dict[str, Any]:
        return {"addonType": self.addon_type, **self.settings}


@dataclass(kw_only=True)
class HcxEnterpriseSite(ArmResource):
    type = "Microsoft.AVS/privateClouds/hcxEnterpriseSites"
    activation_key: str = field(repr=False)
    status: str = "Available"

    def properties(self) -> dict[str, Any]:
        return {"activationKey": self.activation_key, "status": self.status}


class AddonsMixin(CloudsMixin):
    def _seed_addons(self) -> None:
        self._keys = self.world.rng("arm:activation-keys")
        start = self.world.scenario.start
        for side in SIDES:
            edition = self.world.cloud(side).hcx.addon
            if edition == "none":
                continue
            cloud = self.clouds[side]
            offer = ENTERPRISE_OFFER if edition == "enterprise" else ADVANCED_OFFER
            addon = Addon(
                id=f"{cloud.id}/addons/hcx",
                name="hcx",
                side=side,
                created_at=start,
                modified_at=start,
                addon_type="HCX",
                settings={"offer": offer},
                edition=edition,
            )
            self.store(f"{cloud.id}/addons", addon)
            self._hcx_installed(side, start)

    def _hcx_installed(self, side: Side, at: datetime) -> None:
        cloud = self.clouds[side]
        cloud.hcx_installed = True
        if not self.items(f"{cloud.id}/hcxEnterpriseSites"):
            # inferred: the key's name; spec examples call theirs "site1".
            self._new_site(side, f"{cloud.name}-hcx-key", at)

    def _new_site(self, side: Side, name: str, at: datetime) -> HcxEnterpriseSite:
        cloud = self.clouds[side]
        site = HcxEnterpriseSite(
            id=f"{cloud.id}/hcxEnterpriseSites/{name}",
            name=name,
            side=side,
            created_at=at,
            modified_at=at,
            activation_key=f"{self._keys.getrandbits(128):032X}",
        )
        self.store(f"{cloud.id}/hcxEnterpriseSites", site)
        return site

    # -- what the HCX simulators ask (ArmView) -----------------------------------------------------

    @locked
    def hcx_edition(self, side: Side) -> Edition:
        """The HCX edition live at `side`: `none` until an HCX add-on has provisioned."""
        cloud = self.clouds[side]
        for addon in self.items(f"{cloud.id}/addons"):
            if (
                isinstance(addon, Addon)
                and addon.addon_type == "HCX"
                and addon.provisioning_state != "Deleting"
            ):
                return addon.edition
        return "none"

    # -- addons ------------------------------------------------------------------------------------

    @locked
    def list_addons(self, resource_group: str, cloud: str) -> list[Addon]:
        pc = self.cloud_at(resource_group, cloud)
        return [a for a in self.items(f"{pc.id}/addons") if isinstance(a, Addon)]

    @locked
    def get_addon(self, resource_group: str, cloud: str, name: str) -> Addon:
        pc = self.cloud_at(resource_group, cloud)
        found = self.lookup(f"{pc.id}/addons", name, "addon")
        assert isinstance(found, Addon)
        return found

    @locked
    def create_or_update_addon(
        self, resource_group: str, cloud: str, name: str, body: AddonBody
    ) -> tuple[Addon, Operation, bool]:
        pc = self.cloud_at(resource_group, cloud)
        props = body.properties
        # inferred: AVS names each add-on after its type (hcx, srm, vr, arc); every example does.
        if name.lower() != props.addon_type.lower():
            raise BadRequest(
                f"addonName: an add-on of type {props.addon_type} must be named '{props.addon_type.lower()}'",
                target="addonName",
            )
        if props.addon_type == "HCX" and not props.offer:
            raise BadRequest("properties.offer: required for the HCX add-on", target="properties.offer")
        settings = {
            key: value
            for key, value in {
                "offer": props.offer,
                "managementNetwork": props.management_network,
                "uplinkNetwork": props.uplink_network,
                "vrsCount": props.vrs_count,
                "vCenter": props.v_center,
            }.items()
            if value is not None
        }
        existing = self.find(f"{pc.id}/addons", name)
        if isinstance(existing, Addon):
            # inferred: ARM answers 409 to a write on a resource with an operation in flight.
            if existing.provisioning_state in ("Building", "Updating", "Deleting"):
                raise Conflict(
                    f"Add-on '{name}' is {existing.provisioning_state.lower()}; retry when it is done."
                )
            new_edition = edition_of(props.offer)
            if existing.edition == "enterprise" and new_edition == "advanced":
                # avs-arm.md §8.5: a downgrade from Enterprise needs a support request.
                raise BadRequest("properties.offer: HCX Enterprise cannot be downgraded through the API")
            existing.provisioning_state = "Updating"
            addon = existing
        else:
            now = self.now()
            addon = Addon(
                id=f"{pc.id}/addons/{name}",
                name=name,
                side=pc.side,
                created_at=now,
                modified_at=now,
                provisioning_state="Building",
                addon_type=props.addon_type,
            )
            self.store(f"{pc.id}/addons", addon)
            self.record("addon.install_started", cloud=pc.name, addon=props.addon_type)
        created = existing is None
        target = addon

        def done(at: datetime) -> None:
            target.settings = settings
            target.provisioning_state, target.modified_at = "Succeeded", at
            if target.addon_type == "HCX":
                target.edition = edition_of(props.offer)
                self._hcx_installed(pc.side, at)
            self.record("addon.installed", at, cloud=pc.name, addon=target.addon_type, edition=target.edition)

        duration = DURATIONS["addon.HCX" if props.addon_type == "HCX" else "addon"]
        return addon, self.begin("put", addon.id, pc.side, duration, done), created

    @locked
    def delete_addon(self, resource_group: str, cloud: str, name: str) -> Operation | None:
        pc = self.cloud_at(resource_group, cloud)
        found = self.find(f"{pc.id}/addons", name)
        if not isinstance(found, Addon):
            return None
        # inferred: the HCX Manager stops answering as soon as its removal starts.
        found.provisioning_state = "Deleting"
        self.record("addon.removal_started", cloud=pc.name, addon=found.addon_type)

        def done(at: datetime) -> None:
            self.discard(f"{pc.id}/addons", name)
            if found.addon_type == "HCX":
                pc.hcx_installed = False
            self.record("addon.removed", at, cloud=pc.name, addon=found.addon_type)

        return self.begin("delete", found.id, pc.side, DURATIONS["addon.delete"], done)

    # -- hcxEnterpriseSites (synchronous) ----------------------------------------------------------

    @locked
    def list_hcx_enterprise_sites(self, resource_group: str, cloud: str) -> list[HcxEnterpriseSite]:
        pc = self.cloud_at(resource_group, cloud)
        return [s for s in self.items(f"{pc.id}/hcxEnterpriseSites") if isinstance(s, HcxEnterpriseSite)]

    @locked
    def get_hcx_enterprise_site(self, resource_group: str, cloud: str, name: str) -> HcxEnterpriseSite:
        pc = self.cloud_at(resource_group, cloud)
        found = self.lookup(f"{pc.id}/hcxEnterpriseSites", name, "HCX enterprise site")
        assert isinstance(found, HcxEnterpriseSite)
        return found

    @locked
    def create_or_update_hcx_enterprise_site(
        self, resource_group: str, cloud: str, name: str
    ) -> tuple[HcxEnterpriseSite, bool]:
        pc = self.cloud_at(resource_group, cloud)
        existing = self.find(f"{pc.id}/hcxEnterpriseSites", name)
        if isinstance(existing, HcxEnterpriseSite):
            return existing, False
        if not pc.hcx_installed:
            # inferred: keys are issued only once HCX is installed (the portal shows them there).
            raise Conflict("HCX is not installed on this private cloud; install the HCX add-on first.")
        site = self._new_site(pc.side, name, self.now())
        self.record("hcx_key.created", cloud=pc.name, site=name)
        return site, True

    @locked
    def delete_hcx_enterprise_site(self, resource_group: str, cloud: str, name: str) -> bool:
        pc = self.cloud_at(resource_group, cloud)
        if self.find(f"{pc.id}/hcxEnterpriseSites", name) is None:
            return False
        self.discard(f"{pc.id}/hcxEnterpriseSites", name)
        self.record("hcx_key.deleted", cloud=pc.name, site=name)
        return True
