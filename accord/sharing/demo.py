"""Shared material for the demo network: reports, comments, sightings, subscriptions.

``accord demo`` calls :func:`load_sharing_demo` once the organisations, people
and working groups of Avaloria exist. Everything is filed through the same
services as the web pages and the API, acting as the demo's analysts and
representatives, so the policy, the anonymity rules and the audit trail treat
it like real traffic. Only the dates are set by the loader: reports are spread
over the last two months (``created_at=``), and comments and sightings are
moved back next to their report afterwards.

The indicators are made up or taken from the ranges reserved for
documentation (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32,
AS64496-64511, example.* domains); the CVE ids are real public ones. Several
values recur across reports of different sectors so that correlation has
something to show: a ransomware loader seen at the water company, the
hospital and a managed security provider's customers; a VPN exploitation
source seen by a grid operator, a gas operator and the port; a phishing host
used against banks and against diplomats; DDoS sources hitting the
government portal and the broadcaster.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from accord import policy
from accord.audit.services import record
from accord.membership.models import Organisation, Sector
from accord.workgroups.models import WorkingGroup

from .classification import FACTOR_CODES
from .models import Attribution, Comment, Report, Sighting, Subscription, anonymous_date
from .services import participation, reports
from .services.drafts import ObservableInput, ReportDraft
from .services.network_settings import ensure_default_common_values

# --- Shared indicators ------------------------------------------------------------
# Named once so that the same value is typed identically wherever it recurs.

LOADER_C2_IP = "203.0.113.45"
LOADER_C2_DOMAIN = "update-check.example.net"
RANSOMWARE_SHA256 = "9f2c4e7a1b3d5f6081a2c3e4d5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718"
LOADER_MD5 = "5d41c0a7e9b3f2d8a6c4e1b7f9d3a2c8"
VPN_EXPLOIT_IP = "192.0.2.77"
VPN_SCANNER_V6 = "2001:db8:4f2a::17"
VPN_CVE_AUTH = "CVE-2023-46805"
VPN_CVE_CMD = "CVE-2024-21887"
PHISH_IP = "198.51.100.23"
PHISH_DOMAIN = "avaloria-bank-secure.example.com"
PHISH_URL = "https://avaloria-bank-secure.example.com/login/verify.php"
PHISH_DOMAIN_2 = "mybank-av-login.example.org"
PHISH_SENDER = "alerts@crownbank-alerts.example.net"
DDOS_SOURCE_1 = "203.0.113.10"
DDOS_SOURCE_2 = "203.0.113.11"
DDOS_V6_NET = "2001:db8:dd05::/48"
BOOTER_PANEL = "stresser-panel.example.com"
ROGUE_NS_1 = "ns1.hostile-dns.example.net"
ROGUE_NS_2 = "ns2.hostile-dns.example.net"
ROGUE_NS_IP = "192.0.2.53"
HIJACKED_PREFIX = "198.51.100.0/24"
AVANET_ASN = "AS64500"
HIJACK_ASN = "AS64511"
SKIMMER_SHA256 = "3c7e9a1f5b2d8c4e6a0f1b3d5c7e9a2f4b6d8c0e1a3f5b7d9c2e4a6f8b0d1c3e"
SKIMMER_EXFIL_IP = "198.51.100.77"
LOG4SHELL_SCANNER = "198.51.100.200"
SUMMIT_DOMAIN = "summit-invite.example.org"
SUMMIT_SENDER = "protocol-office@summit-invite.example.org"
EXPIRED_CA_SHA1 = "4be1c7d09a3f62e85b17c0d9e4a2f6183b5c7d90"

GROUP_FINANCE = "Finance sector"
GROUP_DNS = "DNS operators"
GROUP_ENERGY = "Energy regulators liaison"

NCSC = "National Cyber Security Centre of Avaloria"


def severity(answers: str = "", **named: str) -> dict[str, str]:
    """Severity answers: the eight option codes in the order of the form, "-" for
    not known yet; or a few factors by name, e.g. ``potential="high"``."""
    chosen = dict(zip(FACTOR_CODES, answers.split(), strict=False))
    chosen.update((_FACTOR_NAMES[name], code) for name, code in named.items())
    return {factor: code for factor, code in chosen.items() if code != "-"}


_FACTOR_NAMES = {
    "functional": "functional-impact",
    "activity": "observed-activity",
    "location": "location",
    "actor": "actor",
    "information": "information-impact",
    "recovery": "recoverability",
    "dependency": "cross-sector-dependency",
    "potential": "potential-impact",
}


@dataclass(frozen=True)
class DemoReport:
    key: str
    by: str
    days_ago: float
    kind: str
    title: str
    summary: str
    marking: str
    audience: str = "network"
    attribution: str = "named"
    org: str = ""  # only for people who file for one of several organisations
    groups: tuple[str, ...] = ()  # working group names
    organisations: tuple[str, ...] = ()  # organisation names
    recipients: tuple[str, ...] = ()  # usernames, TLP:RED only
    sectors: tuple[str, ...] = ()
    effects: tuple[str, ...] = ()
    incident_type: str = ""
    task_areas: tuple[str, ...] = ()
    core_components: tuple[str, ...] = ()
    severity: dict[str, str] = field(default_factory=dict)
    observables: tuple[tuple[str, str], ...] = ()  # (value, note)
    references: tuple[str, ...] = ()
    seen_hours: float = 20.0  # how long before sharing it was first seen


REPORTS: list[DemoReport] = [
    DemoReport(
        key="log4shell",
        by="omar.saleh",
        days_ago=57.4,
        kind="advisory",
        title="Log4Shell still exploited against forgotten internal servers",
        summary=(
            "Two years on, CERT-AV still handles one or two cases a month in which "
            "**CVE-2021-44228** (Log4Shell) was the way in. The servers are rarely the "
            "well-known applications; they are appliances, build servers and reporting "
            "tools nobody remembered that they ran Java.\n\n"
            "- Search your software inventory for `log4j-core` below 2.17.1, including "
            "inside vendor appliances.\n"
            "- Block outbound LDAP and RMI from servers that have no need for them.\n"
            "- The scanner at 198.51.100[.]200 has probed most of the country's address "
            "space this month; its requests carry `${jndi:` in the User-Agent."
        ),
        marking="clear",
        sectors=("digital-infrastructure", "public-administration", "manufacturing"),
        task_areas=("patch-management", "vulnerability-correction"),
        observables=(
            ("CVE-2021-44228", "Apache Log4j 2 JNDI lookup"),
            (LOG4SHELL_SCANNER, "mass scanner, JNDI strings in the User-Agent"),
        ),
        references=("https://nvd.nist.gov/vuln/detail/CVE-2021-44228",),
    ),
    DemoReport(
        key="vpn-vuln",
        by="ivan.horvat",
        days_ago=50.2,
        kind="vulnerability",
        title="VPN gateway authentication bypass chained with command injection, exploited",
        summary=(
            "During two incident responses we found VPN gateways compromised through "
            "**CVE-2023-46805** (authentication bypass) chained with **CVE-2024-21887** "
            "(command injection in the web component). Both gateways ran versions "
            "without the vendor's mitigation file.\n\n"
            "The attacker's requests came from 192.0.2[.]77 and 2001:db8:4f2a::17 and "
            "planted a web shell under the gateway's static resources. The built-in "
            "integrity checker did **not** flag it on one of the two devices: use the "
            "vendor's external checker.\n\n"
            "Applying the mitigation stops the chain; rotate every credential that "
            "passed through the gateway since the first exploitation attempt."
        ),
        marking="green",
        sectors=("ict-service-management", "energy", "transport"),
        task_areas=("vulnerability-correction", "patch-management", "incident-response"),
        severity=severity(potential="high", activity="presence"),
        observables=(
            (VPN_CVE_AUTH, "authentication bypass"),
            (VPN_CVE_CMD, "command injection"),
            (VPN_EXPLOIT_IP, "source of the exploitation requests"),
            (VPN_SCANNER_V6, "source of the exploitation requests (IPv6)"),
        ),
        references=(
            "https://nvd.nist.gov/vuln/detail/CVE-2023-46805",
            "https://nvd.nist.gov/vuln/detail/CVE-2024-21887",
        ),
    ),
    DemoReport(
        key="vpn-advisory",
        by="julia.meyer",
        days_ago=48.6,
        kind="advisory",
        title="CERT-AV advisory: patch and hunt on Connect Secure VPN gateways",
        summary=(
            "## What is going on\n\n"
            "Exploitation of CVE-2023-46805 and CVE-2024-21887 against VPN gateways "
            "is widespread. Members in three sectors have reported compromised "
            "devices to CERT-AV this week.\n\n"
            "## What to do\n\n"
            "1. Apply the vendor's mitigation now, the patch as soon as it is out.\n"
            "2. Run the vendor's external integrity checker; the built-in one can be fooled.\n"
            "3. If the device was exposed unpatched, assume credentials and session "
            "cookies passed through it are known to the attacker.\n"
            "4. Look for connections from 192.0.2.77 and 2001:db8:4f2a::17.\n\n"
            "Contact the CERT-AV duty officer if you find a web shell."
        ),
        marking="clear",
        sectors=("energy", "transport", "drinking-water", "ict-service-management"),
        task_areas=("patch-management", "incident-response"),
        observables=(
            (VPN_CVE_AUTH, ""),
            (VPN_CVE_CMD, ""),
            (VPN_EXPLOIT_IP, "exploitation source"),
            (VPN_SCANNER_V6, "exploitation source"),
        ),
        references=("https://nvd.nist.gov/vuln/detail/CVE-2024-21887",),
    ),
    DemoReport(
        key="port-vpn",
        by="chiara.rossi",
        days_ago=45.1,
        kind="incident",
        title="Suspected intrusion in the port community system through the VPN gateway",
        summary=(
            "Our VPN gateway logged requests matching the published exploitation "
            "pattern from 192.0.2.77 two days before the mitigation was applied. "
            "We have no sign yet of movement into the port community system, but the "
            "forensic image is still being analysed.\n\n"
            "We share this with the coordinating CERT only until we know whether "
            "customs data were touched."
        ),
        marking="amber+strict",
        audience="coordination",
        attribution="pseudonymous",
        sectors=("transport",),
        effects=("exploit-network-infrastructure",),
        incident_type="intrusion-attempts:exploit",
        task_areas=("incident-response", "patch-management"),
        severity=severity(
            "no-impact-to-services engage business-demilitarized-zone unattributed "
            "suspected-but-not-identified supplemented medium medium"
        ),
        observables=((VPN_EXPLOIT_IP, "exploitation requests"), (VPN_CVE_CMD, "")),
    ),
    DemoReport(
        key="grid-vpn",
        by="maria.lindqvist",
        days_ago=44.3,
        kind="incident",
        title="VPN gateway compromise at a grid operator contained before it reached OT",
        summary=(
            "A web shell was found on one of our two VPN gateways. The attacker "
            "harvested session cookies and tried to reach the engineering jump hosts; "
            "the segmentation between office and control networks held.\n\n"
            "The shell beaconed to `update-check[.]example[.]net`. The gateway has been "
            "rebuilt and every account that used it was reset. The regulator has been "
            "informed through this group before the formal notification."
        ),
        marking="amber+strict",
        audience="groups",
        groups=(GROUP_ENERGY,),
        sectors=("energy",),
        effects=("exploit-network-infrastructure",),
        incident_type="intrusions:system-compromise",
        task_areas=("network-infrastructure", "incident-response"),
        severity=severity(
            "minimal presence critical-system-dmz unattributed "
            "suspected-but-not-identified supplemented high high"
        ),
        observables=(
            (VPN_EXPLOIT_IP, "exploitation source"),
            (VPN_CVE_AUTH, ""),
            (LOADER_C2_DOMAIN, "web shell beacon"),
        ),
    ),
    DemoReport(
        key="water-ransomware",
        by="niko.virtanen",
        days_ago=41.3,
        kind="incident",
        title="Ransomware at a drinking-water utility: office encrypted, treatment kept running",
        summary=(
            "On Saturday night ransomware encrypted about 300 office workstations and "
            "the file servers of Kestrel Water Company. Water treatment and distribution "
            "kept running: the operators switched the SCADA system to local control "
            "within 40 minutes.\n\n"
            "**Initial access** was the VPN gateway (CVE-2024-21887), from 192.0.2.77. "
            "The loader (`svc_update.dll`, MD5 5d41c0a7e9b3f2d8a6c4e1b7f9d3a2c8) "
            "beaconed to hxxps://update-check[.]example[.]net/api/v2 and 203.0.113[.]45 "
            "for eleven days before the encryption started.\n\n"
            "We restored from offline backups; customer billing was down for four days."
        ),
        marking="amber",
        sectors=("drinking-water", "waste-water"),
        effects=("data-attack", "exploit-end-hosts"),
        incident_type="malicious-code:infected-system",
        task_areas=("incident-response", "patch-management"),
        severity=severity(
            "denial-of-non-critical effect business-network-management criminal "
            "destruction-of-non-critical supplemented high high"
        ),
        observables=(
            (RANSOMWARE_SHA256, "encryptor"),
            (LOADER_MD5, "loader svc_update.dll"),
            (LOADER_C2_DOMAIN, "loader command and control"),
            (LOADER_C2_IP, "loader command and control"),
            (VPN_EXPLOIT_IP, "initial access"),
            (VPN_CVE_CMD, "initial access"),
        ),
        seen_hours=30,
    ),
    DemoReport(
        key="signalling-modems",
        by="leila.farouk",
        days_ago=38.2,
        kind="vulnerability",
        title="Default credentials on trackside signalling modems reachable over mobile data",
        summary=(
            "A batch of cellular modems that connect level-crossing controllers to the "
            "signalling centre shipped with a shared default password for the web "
            "console, and the console answers on the mobile network's private APN from "
            "every other subscriber on it.\n\n"
            "We changed the passwords on our 412 modems and asked the operator to "
            "isolate subscribers on the APN. Other operators of the same model should "
            "check theirs; we share the model details with the regulator and CERT-AV."
        ),
        marking="amber+strict",
        audience="organisations",
        organisations=("Communications and Post Authority", "CERT-AV", "AvaNet Telecom"),
        sectors=("transport", "telecom"),
        task_areas=("network-infrastructure", "vulnerability-correction"),
        severity=severity(potential="high", location="critical-systems"),
    ),
    DemoReport(
        key="hmi-scanning",
        by="lukas.brenner",
        days_ago=37.0,
        kind="incident",
        title="Scanning of exposed compressor-station HMIs from the VPN exploitation source",
        summary=(
            "Our perimeter sensors saw systematic requests against the web HMIs of "
            "two compressor stations from 192.0.2.77 — the same address that exploited "
            "VPN gateways at other members. Nothing got through; the HMIs were never "
            "meant to be reachable and are now behind the VPN again.\n\n"
            "The whole 192.0.2.0/24 range has been blocked at our edge."
        ),
        marking="amber",
        audience="groups",
        groups=(GROUP_ENERGY,),
        sectors=("energy",),
        effects=("undetermined",),
        incident_type="information-gathering:scanner",
        task_areas=("network-infrastructure",),
        severity=severity(
            "no-impact prepare critical-system-dmz unattributed none not-needed medium medium"
        ),
        observables=((VPN_EXPLOIT_IP, "scanner"), ("192.0.2.0/24", "blocked range")),
    ),
    DemoReport(
        key="mfa-measure",
        by="fatima.zahra",
        days_ago=35.8,
        kind="measure",
        title="Phishing-resistant MFA on all remote access stopped account takeovers",
        summary=(
            "A year ago we replaced push notifications and SMS codes with FIDO2 "
            "security keys for every remote-access and administrator login, 1,900 "
            "people in all. Account takeovers from phishing went from eleven in the "
            "year before to none since.\n\n"
            "What made it work:\n\n"
            "- two keys per person, one kept at home;\n"
            "- a walk-in desk for the first month;\n"
            "- no fallback to SMS, not even for executives."
        ),
        marking="clear",
        sectors=("energy",),
        task_areas=("network-infrastructure",),
    ),
    DemoReport(
        key="scada-backups",
        by="niko.virtanen",
        days_ago=34.9,
        kind="measure",
        title="Offline backups of SCADA configurations brought a plant back in nine hours",
        summary=(
            "After the ransomware attack we were asked how the plant came back so "
            "quickly. Every week the PLC programs, HMI projects and historian "
            "configuration are exported to two removable disks that are then "
            "unplugged; one is kept off site. Restoring from them is rehearsed twice "
            "a year with the operators who would have to do it at night."
        ),
        marking="green",
        sectors=("drinking-water", "waste-water"),
        task_areas=("incident-response",),
    ),
    DemoReport(
        key="bank-phishing",
        by="tomas.brandt",
        days_ago=33.4,
        kind="incident",
        title="Phishing wave against online-banking customers with real-time MFA relay",
        summary=(
            "Since Monday about 40,000 e-mails and text messages in the name of Crown "
            "Bank lead customers to hxxps://avaloria-bank-secure[.]example[.]com/login/verify.php. "
            "The kit relays the one-time code to the real bank within seconds, so "
            "code-based MFA does not stop it.\n\n"
            "Mails come from `alerts[@]crownbank-alerts[.]example[.]net`; the site is "
            "hosted on 198.51.100.23. 63 customers entered their details; 11 lost money "
            "before the accounts were blocked."
        ),
        marking="green",
        audience="groups",
        groups=(GROUP_FINANCE,),
        sectors=("banking",),
        effects=("message-manipulation",),
        incident_type="fraud:phishing",
        task_areas=("incident-response",),
        severity=severity("minimal effect outside criminal privacy-data-breach regular low medium"),
        observables=(
            (PHISH_URL, "landing page"),
            (PHISH_DOMAIN, "phishing domain"),
            (PHISH_IP, "hosting"),
            (PHISH_SENDER, "sender"),
        ),
    ),
    DemoReport(
        key="fincert-kit",
        by="nina.kovac",
        days_ago=31.2,
        kind="advisory",
        title="One phishing kit, four banks: indicators and takedown status",
        summary=(
            "The kit behind the Crown Bank wave has now been seen with the colours of "
            "four Avalorian banks. All landing pages so far resolve to 198.51.100.23; "
            "the newest domain is mybank-av-login[.]example[.]org, registered "
            "yesterday.\n\n"
            "| domain | status |\n"
            "| --- | --- |\n"
            "| avaloria-bank-secure.example.com | taken down |\n"
            "| mybank-av-login.example.org | takedown requested |\n\n"
            "Please block both domains and the address at your mail and web gateways."
        ),
        marking="amber",
        audience="groups",
        groups=(GROUP_FINANCE,),
        sectors=("banking", "financial-market"),
        task_areas=("incident-response",),
        observables=(
            (PHISH_IP, "hosts every landing page seen"),
            (PHISH_DOMAIN, "taken down"),
            (PHISH_DOMAIN_2, "takedown requested"),
            (PHISH_SENDER, ""),
        ),
    ),
    DemoReport(
        key="smart-meter-keys",
        by="emma.visser",
        days_ago=30.3,
        kind="vulnerability",
        title="Smart meters share RSA primes: keys of thousands of devices can be factored",
        summary=(
            "Collecting the public keys that smart meters present to the head-end, we "
            "found 3.1% of them share a prime factor with another meter's key, so their "
            "private keys can be computed in minutes. The cause is the key generation "
            "at first boot, before the device has gathered enough entropy.\n\n"
            "We have informed the manufacturer; a firmware fix must also replace the "
            "affected keys. The method is the well-known batch-GCD computation."
        ),
        marking="green",
        sectors=("energy", "research"),
        core_components=("crypto-identity",),
        task_areas=("encryption-standards", "vulnerability-correction"),
        severity=severity(potential="medium"),
    ),
    DemoReport(
        key="sms-phishing",
        by="yara.nassar",
        days_ago=30.0,
        kind="incident",
        title="Bank phishing texts sent through compromised customer routers",
        summary=(
            "Our abuse desk traced a share of the bank phishing text messages to "
            "about 900 home routers of our own customers whose SMS gateway feature "
            "had been switched on with the default password. The links in the "
            "messages point to mybank-av-login.example.org and 198.51.100.23.\n\n"
            "We are pushing a configuration change that disables the feature and "
            "are writing to the affected customers."
        ),
        marking="green",
        attribution="pseudonymous",
        sectors=("telecom", "banking"),
        effects=("exploit-network-infrastructure", "message-manipulation"),
        incident_type="fraud:unauthorised-use-of-resources",
        task_areas=("network-infrastructure",),
        severity=severity("no-impact-to-services effect outside criminal none regular low low"),
        observables=((PHISH_DOMAIN_2, "link in the texts"), (PHISH_IP, "")),
    ),
    DemoReport(
        key="hospital-ransomware",
        by="samuel.okoro",
        days_ago=28.1,
        kind="incident",
        title="Ransomware encrypted a hospital's imaging archive; same loader as the water sector",
        summary=(
            "The picture archive of a hospital's radiology department was encrypted "
            "overnight. Emergency imaging continued on the modalities' local storage; "
            "planned scans were postponed for three days.\n\n"
            "The encryptor and its loader match the water utility's report exactly, "
            "including the command-and-control address 203.0.113.45."
        ),
        marking="amber",
        attribution="anonymous",
        sectors=("health",),
        effects=("data-attack",),
        incident_type="malicious-code:infected-system",
        task_areas=("incident-response",),
        severity=severity(
            "denial-of-non-critical effect business-network criminal "
            "destruction-of-non-critical supplemented medium high"
        ),
        observables=(
            (RANSOMWARE_SHA256, "encryptor"),
            (LOADER_C2_IP, "command and control"),
            (LOADER_C2_DOMAIN, "command and control"),
        ),
    ),
    DemoReport(
        key="bgp-hijack",
        by="mikkel.sorensen",
        days_ago=26.9,
        kind="incident",
        title="BGP hijack of a customer prefix for 47 minutes",
        summary=(
            "On Tuesday between 03:12 and 03:59 UTC, AS64511 announced "
            "198.51.100.0/24, a prefix we (AS64500) originate for a payment "
            "processor. Peers without route-origin validation accepted the more "
            "attractive path and part of the country's traffic to the processor went "
            "through the hijacker.\n\n"
            "The ROA for the prefix existed; the networks that dropped the invalid "
            "route were not affected. We urge every operator to enable ROV."
        ),
        marking="amber",
        sectors=("telecom", "banking"),
        effects=("exploit-data-in-transit",),
        incident_type="fraud:masquerade",
        task_areas=("routing-addressing-dns", "network-infrastructure"),
        core_components=("routing-forwarding",),
        severity=severity(
            "significant effect outside unattributed suspected-but-not-identified regular high high"
        ),
        observables=(
            (HIJACKED_PREFIX, "hijacked prefix"),
            (HIJACK_ASN, "announced the prefix"),
            (AVANET_ASN, "legitimate origin"),
        ),
        seen_hours=30,
    ),
    DemoReport(
        key="mssp-loader",
        by="zoe.laurent",
        days_ago=26.0,
        kind="incident",
        title="Ransomware loader found at three SOC customers before encryption",
        summary=(
            "Hunting for the loader described by the water sector, we found it on "
            "hosts of three customers (manufacturing and logistics). In all three "
            "cases it had arrived through an unpatched VPN gateway and was still in "
            "its quiet phase, beaconing every 15 minutes to update-check.example.net.\n\n"
            "We share the full host artefacts with the organisations that have "
            "already been hit, and with the national centres."
        ),
        marking="amber",
        audience="organisations",
        organisations=("Kestrel Water Company", "St Elara University Hospital", "CERT-AV", NCSC),
        sectors=("manufacturing", "transport"),
        effects=("exploit-end-hosts",),
        incident_type="malicious-code:infected-system",
        task_areas=("incident-response",),
        severity=severity(
            "no-impact-to-services presence business-network criminal "
            "suspected-but-not-identified regular medium high"
        ),
        observables=(
            (RANSOMWARE_SHA256, "encryptor, found staged"),
            (LOADER_MD5, "loader"),
            (LOADER_C2_DOMAIN, "beacon"),
            (LOADER_C2_IP, "beacon"),
        ),
    ),
    DemoReport(
        key="ransomware-advisory",
        by="julia.meyer",
        days_ago=25.0,
        kind="advisory",
        title="Ransomware group targets utilities and hospitals through unpatched VPN gateways",
        summary=(
            "Four members in four sectors have now reported the same intrusion set: "
            "initial access through CVE-2024-21887, a loader that stays quiet for one "
            "to two weeks, then encryption of file servers and backups reachable from "
            "the office network.\n\n"
            "**Hunt** for connections to update-check[.]example[.]net and "
            "203.0.113[.]45, and for the file hashes attached to this advisory. "
            "**Check** that your backups cannot be deleted with domain-administrator "
            "credentials."
        ),
        marking="green",
        sectors=("drinking-water", "health", "manufacturing", "energy"),
        task_areas=("incident-response", "patch-management"),
        observables=(
            (RANSOMWARE_SHA256, "encryptor"),
            (LOADER_MD5, "loader"),
            (LOADER_C2_DOMAIN, ""),
            (LOADER_C2_IP, ""),
            (VPN_CVE_CMD, "initial access"),
        ),
    ),
    DemoReport(
        key="registrar",
        by="ahmed.karim",
        days_ago=24.2,
        kind="incident",
        title="Reseller account at a registrar used to change the delegation of 14 .av domains",
        summary=(
            "Someone logged in to a reseller's account at one of our accredited "
            "registrars with a stolen password and changed the name servers of 14 "
            ".av domains to ns1.hostile-dns.example.net and ns2.hostile-dns.example.net "
            "(192.0.2.53). For about two hours those domains resolved to the bank "
            "phishing host 198.51.100.23.\n\n"
            "The delegations were restored from the registry's history; the registrar "
            "has enforced MFA for all reseller accounts. DNSSEC-signed domains "
            "failed validation instead of resolving to the attacker — signing helped."
        ),
        marking="amber+strict",
        audience="groups",
        groups=(GROUP_DNS,),
        sectors=("digital-infrastructure",),
        effects=("message-manipulation",),
        incident_type="intrusions:unprivileged-account-compromise",
        task_areas=("routing-addressing-dns", "trust-intermediaries"),
        core_components=("naming-numbering",),
        severity=severity("significant effect outside criminal none regular high high"),
        observables=(
            (ROGUE_NS_1, "rogue name server"),
            (ROGUE_NS_2, "rogue name server"),
            (ROGUE_NS_IP, "rogue name servers' address"),
            (PHISH_IP, "where the hijacked domains pointed"),
        ),
    ),
    DemoReport(
        key="skimmer",
        by="peter.jansen",
        days_ago=21.4,
        kind="incident",
        title="Skimming malware on the payment terminals of ticket machines",
        summary=(
            "A maintenance laptop infected with a skimming tool pushed it to the "
            "payment terminals of about 60 ticket machines. Card data were sent to "
            "198.51.100.77 in small batches at night. The card schemes have been "
            "informed; the terminals have been reflashed."
        ),
        marking="green",
        attribution="anonymous",
        sectors=("transport", "banking"),
        effects=("exploit-end-hosts", "exploit-data-in-transit"),
        incident_type="malicious-code:infected-system",
        task_areas=("incident-response",),
        severity=severity(
            "no-impact-to-services effect business-network criminal "
            "privacy-data-breach supplemented low medium"
        ),
        observables=(
            (SKIMMER_SHA256, "skimming tool"),
            (SKIMMER_EXFIL_IP, "exfiltration"),
        ),
    ),
    DemoReport(
        key="segmentation",
        by="samuel.okoro",
        days_ago=22.3,
        kind="measure",
        title="Segmenting 4,000 medical devices without stopping a single ward",
        summary=(
            "Medical devices cannot be patched on our schedule, so we moved them "
            "instead: each device type now lives in its own network zone that can "
            "talk only to the systems its vendor documents. We did it ward by ward "
            "over nine months, starting with a month of passive traffic recording "
            "per zone so that no rule blocked a real clinical flow.\n\n"
            "When the imaging archive was hit, none of the modalities were reachable "
            "from the infected servers."
        ),
        marking="green",
        attribution="pseudonymous",
        sectors=("health",),
        task_areas=("network-infrastructure",),
    ),
    DemoReport(
        key="portal-ddos",
        by="nadia.petrova",
        days_ago=20.1,
        kind="incident",
        title="DDoS against the national citizens' portal during the tax deadline",
        summary=(
            "From 09:00 the portal received up to 180 Gbit/s of UDP reflection and "
            "HTTPS request floods; log-in and tax filing were unavailable for 3 hours "
            "40 minutes. A hacktivist channel claimed the attack and announced the "
            "next targets: broadcasters and banks.\n\n"
            "The HTTPS floods came mostly from 203.0.113.10 and 203.0.113.11 and the "
            "2001:db8:dd05::/48 network; the booter panel advertising the attack is "
            "stresser-panel[.]example[.]com. The bots also queried 8.8.8.8, so do not "
            "block on that."
        ),
        marking="amber",
        audience="government",
        sectors=("public-administration",),
        effects=("external-dos",),
        incident_type="availability:ddos",
        task_areas=("incident-response", "network-infrastructure"),
        severity=severity(
            "denial-of-critical effect business-demilitarized-zone hacktivist "
            "none regular medium medium"
        ),
        observables=(
            (DDOS_SOURCE_1, "HTTPS flood source"),
            (DDOS_SOURCE_2, "HTTPS flood source"),
            (DDOS_V6_NET, "HTTPS flood sources"),
            (BOOTER_PANEL, "booter advertising the attack"),
            ("8.8.8.8", "public resolver the bots used"),
        ),
        seen_hours=8,
    ),
    DemoReport(
        key="broadcaster-ddos",
        by="sara.lindgren",
        days_ago=19.2,
        kind="incident",
        title="DDoS on a broadcaster's streaming platform the day after the portal attack",
        summary=(
            "As announced in the hacktivist channel, our live streams were flooded "
            "for 50 minutes during the evening news. The CDN absorbed most of it; the "
            "origin servers were hit by requests from 203.0.113.10 and 203.0.113.11."
        ),
        marking="green",
        attribution="anonymous",
        sectors=("media",),
        effects=("external-dos",),
        incident_type="availability:ddos",
        task_areas=("incident-response",),
        severity=severity(
            "minimal effect business-demilitarized-zone hacktivist none regular low low"
        ),
        observables=((DDOS_SOURCE_1, ""), (DDOS_SOURCE_2, "")),
        seen_hours=3,
    ),
    DemoReport(
        key="ddos-advisory",
        by="amira.haddad",
        org=NCSC,
        days_ago=18.5,
        kind="advisory",
        title="Hacktivist DDoS campaign against public web sites: how to prepare",
        summary=(
            "A hacktivist campaign has hit the citizens' portal and a broadcaster and "
            "names banks and transport operators as its next targets. The attacks "
            "last under four hours and combine reflection floods with HTTPS request "
            "floods.\n\n"
            "- Agree with your provider **now** how scrubbing is switched on.\n"
            "- Serve a static fallback page from a CDN.\n"
            "- Keep the contact of your upstream's NOC at hand; 203.0.113.10 is among "
            "the most active sources."
        ),
        marking="clear",
        sectors=("public-administration", "media", "banking", "transport"),
        task_areas=("incident-response", "network-infrastructure"),
        observables=((DDOS_SOURCE_1, "one of the most active sources"),),
    ),
    DemoReport(
        key="diplomat-phishing",
        by="hana.novak",
        days_ago=17.3,
        kind="advisory",
        title="Spear-phishing of delegations ahead of the regional summit",
        summary=(
            "Delegation members received invitations to a fake accreditation portal "
            "from protocol-office[@]summit-invite[.]example[.]org. The portal is "
            "hosted on 198.51.100.23, the same host as the bank phishing kit, which "
            "suggests a shared hosting provider rather than the same actor.\n\n"
            "Ministries should warn their staff travelling to the summit."
        ),
        marking="amber",
        audience="government",
        attribution="pseudonymous",
        sectors=("public-administration",),
        task_areas=("incident-response",),
        observables=(
            (SUMMIT_SENDER, "sender"),
            (SUMMIT_DOMAIN, "fake accreditation portal"),
            (PHISH_IP, "hosting"),
        ),
    ),
    DemoReport(
        key="radar-firmware",
        by="anna.weiss",
        days_ago=16.0,
        kind="vulnerability",
        title="Hard-coded maintenance password in a supplier's firmware update tool",
        summary=(
            "The update tool that a component supplier ships with its radar "
            "signal-processing boards contains a hard-coded maintenance password "
            "that also unlocks the boards' debug console. Anyone with the tool and "
            "network access to a board can change its firmware.\n\n"
            "The supplier has been told and is preparing a fix. We share this with "
            "government bodies only until then."
        ),
        marking="amber+strict",
        audience="government",
        attribution="anonymous",
        sectors=("defence-industry", "manufacturing"),
        task_areas=("vulnerability-correction",),
        severity=severity(potential="high", location="critical-systems"),
    ),
    DemoReport(
        key="expired-ca",
        by="lea.fischer",
        days_ago=15.1,
        kind="incident",
        title="Expired intermediate CA certificate broke e-signature validation for six hours",
        summary=(
            "An intermediate CA certificate for qualified e-signatures expired at "
            "midnight; its successor had been issued but was not yet in the chain "
            "served by ocsp.avatrust.example. Signature validation failed at courts, "
            "notaries and the land registry until 06:10.\n\n"
            "No key was compromised; the outage was ours. Renewals of intermediate "
            "certificates are now tracked in the same calendar as root ceremonies, "
            "with a 90-day warning."
        ),
        marking="green",
        sectors=("digital-infrastructure", "public-administration"),
        incident_type="availability:outage",
        task_areas=("trust-intermediaries",),
        core_components=("crypto-identity",),
        severity=severity("significant none critical-systems no-adversary none regular medium low"),
        observables=((EXPIRED_CA_SHA1, "fingerprint of the expired intermediate"),),
        seen_hours=7,
    ),
    DemoReport(
        key="casefile-vuln",
        by="arjun.mehta",
        days_ago=14.2,
        kind="vulnerability",
        title="Case-management software lets one municipality open another's case files",
        summary=(
            "In the hosted version of our case-management product, a missing tenant "
            "check in the document preview lets a signed-in user of one municipality "
            "open case files of another by changing a number in the address. We "
            "found it in our own review; the logs show no sign that it was used.\n\n"
            "The fix is deployed to every hosted tenant. On-premises installations "
            "need release 7.4.2."
        ),
        marking="amber",
        audience="government",
        sectors=("public-administration",),
        task_areas=("vulnerability-correction", "patch-management"),
        severity=severity(potential="medium", information="suspected-but-not-identified"),
    ),
    DemoReport(
        key="registry-lock",
        by="lotte.devries",
        days_ago=12.1,
        kind="measure",
        title="Registry lock for high-value .av domains",
        summary=(
            "After the reseller account compromise we offer **registry lock** free "
            "of charge to operators of essential services. A locked domain's name "
            "servers can only be changed after a call-back to two named contacts of "
            "the holder; the registrar's systems alone cannot do it.\n\n"
            "Ask your registrar, or write to the registry's security desk."
        ),
        marking="clear",
        sectors=("digital-infrastructure",),
        task_areas=("routing-addressing-dns",),
        core_components=("naming-numbering",),
    ),
    DemoReport(
        key="exchange-false-alarm",
        by="kwame.mensah",
        days_ago=11.0,
        kind="incident",
        title="Possible breach of the exchange's order-entry gateway",
        summary=(
            "The exchange reported unusual administrative sessions on its "
            "order-entry gateway from an unknown management address. Analysis is "
            "ongoing."
        ),
        marking="green",
        sectors=("financial-market",),
        effects=("undetermined",),
        incident_type="intrusions:privileged-account-compromise",
        task_areas=("incident-response",),
        severity=severity(activity="presence", potential="high"),
    ),
    DemoReport(
        key="subsea-cable",
        by="stefan.richter",
        days_ago=9.2,
        kind="incident",
        title="Subsea cable to the northern islands cut; traffic rerouted over radio links",
        summary=(
            "The fibre cable between Kestrel and the northern islands failed at 02:40. "
            "Light measurements place the break 31 km offshore, where a vessel "
            "dragging its anchor was recorded at the time. Internet and mobile "
            "services on the islands run over microwave backup links at about 15% of "
            "normal capacity; the repair ship is expected in nine days.\n\n"
            "Other operators with customers on the islands: please keep your traffic "
            "to AS64500 to what is essential."
        ),
        marking="green",
        sectors=("telecom",),
        effects=("physical-attack",),
        incident_type="availability:outage",
        task_areas=("network-infrastructure",),
        core_components=("transmission-media",),
        severity=severity(
            "denial-of-non-critical - critical-systems - none extended medium medium"
        ),
        observables=((AVANET_ASN, "operator of the cable"),),
        seen_hours=5,
    ),
    DemoReport(
        key="cable-vessel",
        by="eva.lindholm",
        days_ago=8.1,
        kind="advisory",
        title="Vessel movements near the damaged subsea cable",
        summary=(
            "Ship-tracking data show that the vessel near the cable break had switched "
            "off its transponder for six hours before and after the damage, and had "
            "passed two other cable routes on the same voyage. This is not an "
            "attribution. Shared with the named people only, for planning the "
            "protection of the remaining cables."
        ),
        marking="red",
        recipients=("stefan.richter", "jonas.weller", "coordinator"),
        sectors=("telecom",),
        core_components=("transmission-media",),
        task_areas=("network-infrastructure",),
    ),
    DemoReport(
        key="insider",
        by="victoria.hale",
        days_ago=6.3,
        kind="incident",
        title="Attempted exfiltration of customer data by a departing employee",
        summary=(
            "An employee who had resigned copied an export of 20,000 customer records "
            "to a personal cloud drive. Data-loss prevention blocked the upload and "
            "the police have been informed. Shared only with the named recipients "
            "while the investigation runs."
        ),
        marking="red",
        recipients=("lars.eriksen", "nina.kovac"),
        sectors=("banking",),
        effects=("undetermined",),
        incident_type="information-content-security:data-leak",
        task_areas=("incident-response",),
        severity=severity(
            "no-impact-to-services engage business-network insider "
            "suspected-but-not-identified regular none low"
        ),
    ),
    DemoReport(
        key="phishing-followup",
        by="priya.raman",
        days_ago=3.2,
        kind="measure",
        title="Number matching and transaction signing stopped the MFA relay kit",
        summary=(
            "Since we switched the banking app to number matching and show the "
            "amount and payee in the approval screen, the relay kit from the phishing "
            "wave has not caused a single loss: customers see a transfer they did not "
            "ask for and refuse it. Support calls rose for a week and then fell back."
        ),
        marking="green",
        audience="groups",
        groups=(GROUP_FINANCE,),
        sectors=("banking",),
        task_areas=("incident-response",),
    ),
]


@dataclass(frozen=True)
class DemoComment:
    report: str
    by: str
    hours_after: float  # after the report was shared
    body: str
    marking: str | None = None  # None: the report's own
    attribution: str = "named"
    reply_to: int | None = None  # position in COMMENTS of the comment it answers
    org: str = ""


COMMENTS: list[DemoComment] = [
    DemoComment(
        "water-ransomware",
        "zoe.laurent",
        20,
        "We found the same loader at three of our SOC customers this morning, still in "
        "its quiet phase. Thank you — without the hash we would not have looked.",
    ),
    DemoComment(
        "water-ransomware",
        "niko.virtanen",
        26,
        "Glad it helped. The beacon interval was 15 minutes with jitter, if that helps "
        "your detection.",
        reply_to=0,
    ),
    DemoComment(
        "water-ransomware",
        "oskar.nyberg",
        30,
        "Blocked update-check[.]example[.]net and 203.0.113.45 at our edge; one hit in "
        "the proxy logs from a test laptop, now being examined.",
        attribution="pseudonymous",
    ),
    DemoComment(
        "water-ransomware",
        "jonas.weller",
        40,
        "The NCSC is preparing a briefing for the minister. Please tell us directly if "
        "customer data turn out to be involved, so that the briefing is accurate.",
        marking="amber+strict",
    ),
    DemoComment(
        "bank-phishing",
        "nina.kovac",
        5,
        "Same kit at two more banks since this morning; we are coordinating the takedowns.",
    ),
    DemoComment(
        "bank-phishing",
        "priya.raman",
        8,
        "Thanks Nina. We can add the customer-side indicators tomorrow.",
        reply_to=4,
    ),
    DemoComment(
        "bgp-hijack",
        "greta.olsen",
        12,
        "Our anycast nodes validate routes and were not affected. Happy to help other "
        "operators set up ROV.",
    ),
    DemoComment(
        "expired-ca",
        "emma.visser",
        30,
        "Thank you for the candid write-up. Would you present it at the standards "
        "committee? Certificate lifecycle is on our agenda next month.",
    ),
    DemoComment(
        "vpn-advisory",
        "ivan.horvat",
        18,
        "The external checker also found a second web shell variant that writes to "
        "the log directory; we added its hash to our report.",
    ),
    DemoComment(
        "ransomware-advisory",
        "jonas.weller",
        48,
        "For the named recipients of the upcoming briefing: the ministry will ask "
        "hospitals about their backup isolation next week.",
        marking="red",
    ),
    DemoComment(
        "portal-ddos",
        "rafael.ortega",
        6,
        "Two operators saw the reflection traffic on their networks too; they are "
        "checking for open amplifiers among their customers.",
        attribution="pseudonymous",
    ),
]


@dataclass(frozen=True)
class DemoSighting:
    report: str
    by: str
    days_ago: float  # when it was seen
    count: int = 1
    observable: str | None = None  # None: the report as a whole
    note: str = ""
    attribution: str = "named"
    org: str = ""


SIGHTINGS: list[DemoSighting] = [
    DemoSighting("bank-phishing", "nina.kovac", 32.5, 37, PHISH_DOMAIN, "Customers of two banks"),
    DemoSighting(
        "bank-phishing",
        "zoe.laurent",
        31.0,
        120,
        PHISH_IP,
        "Blocked at customers' proxies",
        "pseudonymous",
    ),
    DemoSighting("bank-phishing", "kwame.mensah", 29.8, 3, attribution="anonymous"),
    DemoSighting(
        "water-ransomware", "zoe.laurent", 40.0, 4, LOADER_C2_IP, "Beacons from customer hosts"
    ),
    DemoSighting(
        "water-ransomware", "oskar.nyberg", 39.2, 1, LOADER_C2_DOMAIN, attribution="pseudonymous"
    ),
    DemoSighting(
        "water-ransomware", "samuel.okoro", 28.5, 1, RANSOMWARE_SHA256, attribution="anonymous"
    ),
    DemoSighting(
        "vpn-advisory", "maria.lindqvist", 46.0, 14, VPN_EXPLOIT_IP, "Requests to our gateway"
    ),
    DemoSighting("vpn-advisory", "lukas.brenner", 37.5, 230, VPN_EXPLOIT_IP),
    DemoSighting(
        "portal-ddos", "hana.novak", 20.0, 5000, DDOS_SOURCE_1, "Embassy site flooded too"
    ),
    DemoSighting("portal-ddos", "rafael.ortega", 19.5, 2, attribution="pseudonymous"),
    DemoSighting("portal-ddos", "eva.lindholm", 18.9, 800, DDOS_SOURCE_2, attribution="anonymous"),
    DemoSighting(
        "ddos-advisory", "yara.nassar", 17.0, 12000, DDOS_SOURCE_1, "Seen on our backbone"
    ),
    DemoSighting(
        "registrar", "mikkel.sorensen", 24.0, 40, ROGUE_NS_IP, "Queries from our resolvers"
    ),
]

WITHDRAWALS: list[tuple[str, str, str]] = [
    (
        "exchange-false-alarm",
        "kwame.mensah",
        "It was an unannounced red-team exercise commissioned by the exchange; "
        "nothing was breached.",
    ),
]

# An anonymous reporter that later steps forward: (report key, who).
REVEALS: list[tuple[str, str]] = [("skimmer", "peter.jansen")]

# (username, name, kinds, sector codes, effects, minimum level, e-mail digest)
SUBSCRIPTIONS: list[tuple[str, str, list[str], list[str], list[str], int | None, bool]] = [
    ("tomas.brandt", "Banking incidents", ["incident"], ["banking"], [], None, True),
    (
        "niko.virtanen",
        "Water and energy, medium and above",
        [],
        ["drinking-water", "waste-water", "energy"],
        [],
        2,
        True,
    ),
    ("julia.meyer", "Every vulnerability", ["vulnerability"], [], [], None, True),
    ("coordinator", "Severe or worse, anywhere", [], [], [], 4, False),
    ("mikkel.sorensen", "Denial of service", ["incident"], [], ["external-dos"], None, False),
]


# --- Loading -------------------------------------------------------------------


def is_loaded() -> bool:
    return Report.objects.filter(title=REPORTS[0].title).exists()


def load_sharing_demo(now: dt.datetime | None = None) -> bool:
    """File the demo's shared material. Returns False, changing nothing, if it is there."""
    if is_loaded():
        return False
    with transaction.atomic():
        _SharingLoader(now or timezone.now()).run()
    return True


class _SharingLoader:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now
        self.reports: dict[str, Report] = {}
        self.org_ids = {o.name: o.pk for o in Organisation.objects.all()}
        self.org_slugs = {o.name: o.slug for o in Organisation.objects.all()}
        self.group_slugs = dict(WorkingGroup.objects.values_list("name", "slug"))

    def person(self, username: str) -> Any:
        # A fresh object per action: the policy caches what a person may see on it.
        return get_user_model().objects.get(username=username)

    def org_id(self, name: str) -> int | None:
        return self.org_ids[name] if name else None

    def run(self) -> None:
        ensure_default_common_values()
        for subscription in SUBSCRIPTIONS:
            self.subscribe(*subscription)
        for spec in sorted(REPORTS, key=lambda r: -r.days_ago):
            self.reports[spec.key] = self.file(spec)
        comments: list[Comment] = []
        for comment in COMMENTS:
            comments.append(self.comment(comment, comments))
        for sighting in SIGHTINGS:
            self.sight(sighting)
        for key, username, reason in WITHDRAWALS:
            reports.withdraw_report(self.person(username), self.reports[key], reason=reason)
        for key, username in REVEALS:
            reports.reveal_report(self.person(username), self.reports[key])
        record(
            "demo.sharing_loaded",
            f"The demo's shared reports were loaded ({len(self.reports)} reports)",
            actor="accord demo",
            data={"reports": len(self.reports), "comments": len(comments)},
        )

    def file(self, spec: DemoReport) -> Report:
        created_at = self.now - dt.timedelta(days=spec.days_ago)
        draft = ReportDraft(
            kind=spec.kind,
            title=spec.title,
            summary=spec.summary,
            first_seen=created_at - dt.timedelta(hours=spec.seen_hours),
            last_seen=created_at - dt.timedelta(hours=spec.seen_hours / 4),
            sectors=list(spec.sectors),
            references=list(spec.references),
            marking=spec.marking,
            audience=spec.audience,
            audience_groups=[self.group_slugs[name] for name in spec.groups],
            audience_organisations=[self.org_slugs[name] for name in spec.organisations],
            recipients=list(spec.recipients),
            attribution=spec.attribution,
            effects=list(spec.effects),
            incident_type=spec.incident_type,
            task_areas=list(spec.task_areas),
            core_components=list(spec.core_components),
            severity=dict(spec.severity),
            observables=[ObservableInput(value=v, note=note) for v, note in spec.observables],
        )
        return reports.create_report(
            self.person(spec.by),
            draft,
            organisation_id=self.org_id(spec.org),
            created_at=created_at,
        )

    def comment(self, spec: DemoComment, earlier: list[Comment]) -> Comment:
        user = self.person(spec.by)
        report = policy.get_report(user, self.reports[spec.report].pk)
        comment = participation.add_comment(
            user,
            report,
            body=spec.body,
            marking=spec.marking,
            attribution=spec.attribution,
            parent_id=earlier[spec.reply_to].pk if spec.reply_to is not None else None,
            organisation_id=self.org_id(spec.org),
        )
        # Next to the report in time, not at the moment the demo was loaded.
        moment = min(report.created_at + dt.timedelta(hours=spec.hours_after), self.now)
        Comment.objects.filter(pk=comment.pk).update(created_at=moment)
        return comment

    def sight(self, spec: DemoSighting) -> Sighting:
        user = self.person(spec.by)
        report = policy.get_report(user, self.reports[spec.report].pk)
        seen_at = self.now - dt.timedelta(days=spec.days_ago)
        sighting = participation.record_sighting(
            user,
            report,
            observable=spec.observable,
            count=spec.count,
            seen_at=seen_at,
            note=spec.note,
            attribution=spec.attribution,
            organisation_id=self.org_id(spec.org),
        )
        recorded = min(seen_at + dt.timedelta(hours=3), self.now)
        if spec.attribution == Attribution.ANONYMOUS:
            recorded = anonymous_date(recorded)  # anonymous rows keep the day only
        Sighting.objects.filter(pk=sighting.pk).update(created_at=recorded)
        return sighting

    def subscribe(
        self,
        username: str,
        name: str,
        kinds: list[str],
        sectors: list[str],
        effects: list[str],
        min_level: int | None,
        email_digest: bool,
    ) -> Subscription:
        subscription = Subscription.objects.create(
            user=self.person(username),
            name=name,
            kinds=kinds,
            effects=effects,
            min_level=min_level,
            email_digest=email_digest,
            created_at=self.now - dt.timedelta(days=58),
        )
        subscription.sectors.set(Sector.objects.filter(code__in=sectors))
        return subscription
