"""The fixed vocabularies of the network: stakeholder groups, critical sectors
and the security tasks of DeNardis and Raymond (2013).

They are code, not settings, because reports, aggregates and peer exchange
depend on every installation using the same codes. ``docs/taxonomy.md`` lists
them for people.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class StakeholderGroup(models.TextChoices):
    GOVERNMENT_CIVILIAN = "government-civilian", _("Government (civilian)")
    GOVERNMENT_DEFENCE = "government-defence", _("Government (military/defence)")
    REGULATOR = "regulator", _("Regulator")
    FOREIGN_AFFAIRS = "foreign-affairs", _("Foreign affairs")
    PRIVATE_SECTOR = "private-sector", _("Private sector")
    NETWORK_OPERATOR = "network-operator", _("ISP / network operator")
    SOFTWARE_VENDOR = "software-vendor", _("Software vendor")
    CSIRT = "csirt", _("CERT / CSIRT")
    ACADEMIA = "academia", _("Academia")
    CIVIL_SOCIETY = "civil-society", _("Civil society")
    STANDARDS_BODY = "standards-body", _("Standards body")
    TECHNICAL_COMMUNITY = "technical-community", _("Technical community / registry")


GOVERNMENT_GROUPS = frozenset(
    {
        StakeholderGroup.GOVERNMENT_CIVILIAN,
        StakeholderGroup.GOVERNMENT_DEFENCE,
        StakeholderGroup.REGULATOR,
        StakeholderGroup.FOREIGN_AFFAIRS,
    }
)

# (code, name, description). Loosely follows the NIS2 annexes, plus sectors a
# national network needs that NIS2 leaves out (telecom, defence industry, media).
SECTORS: list[tuple[str, str, str]] = [
    ("energy", _("Energy"), _("Electricity, district heating and cooling, oil, gas, hydrogen")),
    ("transport", _("Transport"), _("Air, rail, water and road transport")),
    ("banking", _("Banking"), _("Credit institutions")),
    (
        "financial-market",
        _("Financial market infrastructure"),
        _("Trading venues, central counterparties"),
    ),
    (
        "health",
        _("Health"),
        _("Healthcare providers, laboratories, pharmaceuticals, medical devices"),
    ),
    (
        "drinking-water",
        _("Drinking water"),
        _("Supply and distribution of water for human consumption"),
    ),
    ("waste-water", _("Waste water"), _("Collection, disposal and treatment of waste water")),
    (
        "digital-infrastructure",
        _("Digital infrastructure"),
        _("IXPs, DNS, TLD registries, cloud, data centres, CDNs, trust services"),
    ),
    (
        "ict-service-management",
        _("ICT service management"),
        _("Managed service and managed security service providers"),
    ),
    (
        "public-administration",
        _("Public administration"),
        _("Central and regional government bodies"),
    ),
    ("space", _("Space"), _("Operators of ground-based space infrastructure")),
    (
        "telecom",
        _("Telecommunications"),
        _("Public electronic communications networks and services"),
    ),
    ("postal", _("Postal and courier services"), _("Postal and courier service providers")),
    ("waste-management", _("Waste management"), _("Collection, treatment and disposal of waste")),
    ("chemicals", _("Chemicals"), _("Manufacture and distribution of chemicals")),
    ("food", _("Food"), _("Production, processing and distribution of food")),
    ("manufacturing", _("Manufacturing"), _("Medical devices, electronics, machinery, vehicles")),
    (
        "digital-providers",
        _("Digital providers"),
        _("Online marketplaces, search engines, social networks"),
    ),
    ("research", _("Research"), _("Research organisations")),
    ("education", _("Education"), _("Schools and universities")),
    ("defence-industry", _("Defence industry"), _("Suppliers to the armed forces")),
    ("media", _("Media"), _("Broadcasting and news media")),
]

# The task -> primary responsible actor table from the brief.
TASKS: list[tuple[str, str, str]] = [
    (
        "regulation-enforcement",
        _("Cybersecurity regulation and enforcement"),
        _("National statutes, multilateral agreements"),
    ),
    (
        "encryption-standards",
        _("Designing encryption standards"),
        _("Standards-setting organisations"),
    ),
    (
        "network-infrastructure",
        _("Securing network infrastructure"),
        _("ISPs, network operators, private end-user networks"),
    ),
    (
        "vulnerability-correction",
        _("Correcting software security vulnerabilities"),
        _("Software companies"),
    ),
    ("patch-management", _("Software patch management"), _("Private end users")),
    (
        "routing-addressing-dns",
        _("Securing routing, addressing and DNS"),
        _("Network operators, IETF, registries"),
    ),
    ("incident-response", _("Responding to security problems"), _("CERTs/CSIRTs")),
    (
        "trust-intermediaries",
        _("Trust intermediaries authenticating web sites"),
        _("Certificate authorities"),
    ),
]


def sync_reference_data(sector_model: type, task_model: type) -> None:
    """Create or update the sector and task rows from the lists above. Takes the
    model classes so that migrations can pass their historical models."""
    for position, (code, name, description) in enumerate(SECTORS):
        sector_model.objects.update_or_create(
            code=code,
            defaults={"name": str(name), "description": str(description), "position": position},
        )
    for position, (code, name, actor) in enumerate(TASKS):
        task_model.objects.update_or_create(
            code=code,
            defaults={"name": str(name), "primary_actor": str(actor), "position": position},
        )
