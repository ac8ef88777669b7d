"""The demo network: a fictional country's public–private cyber network.

``accord demo`` loads it into an empty installation so that every page has
something to show. The Republic of Avaloria and every organisation and person
in it are invented; their e-mail addresses and web sites use the reserved
``.example`` domain. The model needs a real ISO 3166 country code, so the
organisations are registered under ``NL`` (DEMO_COUNTRY).

The loader goes through the same service functions as the web pages
(application, verification, invitation, acceptance of the rules, working
groups), so the audit trail reads like a real one. It runs in one transaction
and is keyed by username: a second run finds the coordinator account and
changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from accord.audit.services import record
from accord.contacts.demo import load_demo as load_contacts_demo
from accord.exchange.stix.publish import publish_all
from accord.membership import services as membership
from accord.membership.models import Organisation, Sector, Task
from accord.membership.taxonomy import StakeholderGroup as G
from accord.rules import services as rules
from accord.rules.models import RuleDocument
from accord.sharing.demo import load_sharing_demo
from accord.workgroups import services as workgroups
from accord.workgroups.models import WorkingGroup

COUNTRY_NAME = "Republic of Avaloria"
DEMO_COUNTRY = "NL"
DEMO_TIMEZONE = "Europe/Amsterdam"
COORDINATOR = "coordinator"


class DemoError(Exception):
    """The demo cannot be loaded into this database; the message says why."""


@dataclass(frozen=True)
class Person:
    username: str
    full_name: str
    title: str
    # r = representative, a = analyst, o = organisation admin. The first person of
    # an organisation is its contact and always becomes representative and admin.
    roles: str = "a"


@dataclass(frozen=True)
class Org:
    name: str
    group: str
    sectors: tuple[str, ...]
    tasks: tuple[str, ...]
    domain: str
    phone: str
    description: str
    people: tuple[Person, ...]
    # Which rule documents its representative accepted: "all", "charter" or "none".
    accepts: str = "all"
    # Members of other organisations who also belong to this one: (username, roles, title).
    guests: tuple[tuple[str, str, str], ...] = field(default_factory=tuple)


MEMBERS: list[Org] = [
    Org(
        "National Cyber Security Centre of Avaloria",
        G.GOVERNMENT_CIVILIAN,
        ("public-administration", "digital-infrastructure"),
        ("incident-response", "regulation-enforcement"),
        "ncsc-avaloria.example",
        "+31 70 555 0100",
        "The government's centre of expertise for cyber security. It operates this network, "
        "runs the national incident desk and advises ministries on cyber policy.",
        (
            Person("henrik.aalto", "Henrik Aalto", "Director"),
            Person("amira.haddad", "Amira Haddad", "Senior threat analyst", "a"),
            Person("jonas.weller", "Jonas Weller", "Head of the incident desk", "ao"),
        ),
    ),
    Org(
        "Ministry of the Interior and Digital Affairs",
        G.GOVERNMENT_CIVILIAN,
        ("public-administration",),
        ("regulation-enforcement",),
        "interior-avaloria.example",
        "+31 70 555 0200",
        "Responsible for the national cyber security strategy, digital government and "
        "the resilience of public administration.",
        (
            Person("clara.montes", "Clara Montes", "Director of Digital Resilience"),
            Person("felix.amundsen", "Felix Amundsen", "Senior policy adviser", "r"),
            Person("nadia.petrova", "Nadia Petrova", "Chief information security officer", "a"),
        ),
    ),
    Org(
        "Avalorian Defence Cyber Command",
        G.GOVERNMENT_DEFENCE,
        ("public-administration", "defence-industry"),
        ("network-infrastructure", "incident-response"),
        "dcc-avaloria.example",
        "+31 70 555 0300",
        "Defends the armed forces' networks and is the military point of contact for "
        "civilian crisis coordination.",
        (
            Person("marten.vos", "Marten Vos", "Deputy commander"),
            Person("eva.lindholm", "Eva Lindholm", "Civil–military liaison officer", "a"),
        ),
    ),
    Org(
        "Energy and Water Regulatory Authority",
        G.REGULATOR,
        ("energy", "drinking-water", "waste-water"),
        ("regulation-enforcement",),
        "ewra-avaloria.example",
        "+31 70 555 0400",
        "Supervises electricity, gas and water undertakings, including their duty to "
        "manage cyber risk and report significant incidents.",
        (
            Person("sofia.marin", "Sofia Marin", "Head of cyber supervision"),
            Person("daniel.iversen", "Daniel Iversen", "Supervision officer", "a"),
        ),
    ),
    Org(
        "Financial Supervisory Authority of Avaloria",
        G.REGULATOR,
        ("banking", "financial-market"),
        ("regulation-enforcement",),
        "fsa-avaloria.example",
        "+31 70 555 0500",
        "Supervises banks, insurers and market infrastructure, including their "
        "operational resilience.",
        (
            Person("olga.sandberg", "Olga Sandberg", "Head of ICT risk supervision"),
            Person("kwame.mensah", "Kwame Mensah", "ICT risk inspector", "a"),
        ),
    ),
    Org(
        "Communications and Post Authority",
        G.REGULATOR,
        ("telecom", "postal", "digital-infrastructure"),
        ("regulation-enforcement",),
        "cpa-avaloria.example",
        "+31 70 555 0600",
        "Regulates electronic communications networks, trust services and the postal market.",
        (
            Person("ingrid.halvorsen", "Ingrid Halvorsen", "Director of network security"),
            Person("rafael.ortega", "Rafael Ortega", "Security incident officer", "a"),
            Person("mei.tanaka", "Mei Tanaka", "Office manager", "o"),
        ),
    ),
    Org(
        "Ministry of Foreign Affairs",
        G.FOREIGN_AFFAIRS,
        ("public-administration",),
        ("regulation-enforcement",),
        "mfa-avaloria.example",
        "+31 70 555 0700",
        "Its cyber diplomacy unit represents Avaloria in international forums on "
        "responsible state behaviour in cyberspace.",
        (
            Person("laurent.dubois", "Laurent Dubois", "Ambassador for cyber affairs"),
            Person("hana.novak", "Hana Novak", "Cyber diplomacy officer", "ra"),
        ),
    ),
    Org(
        "Nordvale Energy",
        G.PRIVATE_SECTOR,
        ("energy",),
        ("network-infrastructure", "patch-management"),
        "nordvale-energy.example",
        "+31 50 555 1100",
        "Transmission system operator for the national electricity grid.",
        (
            Person("maria.lindqvist", "Maria Lindqvist", "Chief information security officer"),
            Person("oskar.nyberg", "Oskar Nyberg", "OT security engineer", "a"),
            Person("fatima.zahra", "Fatima Zahra", "SOC team lead", "ao"),
        ),
    ),
    Org(
        "Brightwater Gas Transmission",
        G.PRIVATE_SECTOR,
        ("energy",),
        ("network-infrastructure", "patch-management"),
        "brightwater-gas.example",
        "+31 50 555 1200",
        "Operates the high-pressure gas transmission network and two storage sites.",
        (
            Person("george.whitfield", "George Whitfield", "Chief operating officer"),
            Person("lukas.brenner", "Lukas Brenner", "Industrial control systems analyst", "a"),
        ),
    ),
    Org(
        "Crown Bank of Avaloria",
        G.PRIVATE_SECTOR,
        ("banking",),
        ("patch-management",),
        "crownbank.example",
        "+31 20 555 1300",
        "The country's largest retail and commercial bank.",
        (
            Person("victoria.hale", "Victoria Hale", "Chief information security officer"),
            Person("tomas.brandt", "Tomas Brandt", "SOC analyst", "a"),
            Person("priya.raman", "Priya Raman", "Fraud intelligence analyst", "a"),
            Person("martin.koenig", "Martin Koenig", "Identity and access manager", "o"),
        ),
    ),
    Org(
        "Port of Kestrel Harbour",
        G.PRIVATE_SECTOR,
        ("transport",),
        ("patch-management",),
        "kestrel-port.example",
        "+31 10 555 1400",
        "Port authority and operator of the container terminal's community system.",
        (
            Person("anders.holm", "Anders Holm", "Harbour master's IT director"),
            Person("chiara.rossi", "Chiara Rossi", "Security analyst", "a"),
        ),
    ),
    Org(
        "AvaRail",
        G.PRIVATE_SECTOR,
        ("transport",),
        ("network-infrastructure", "patch-management"),
        "avarail.example",
        "+31 30 555 1500",
        "National passenger and freight railway, including signalling and timetabling.",
        (
            Person("peter.jansen", "Peter Jansen", "Head of cyber security"),
            Person("leila.farouk", "Leila Farouk", "Signalling security engineer", "a"),
            Person("bruno.costa", "Bruno Costa", "Security awareness officer", "ao"),
        ),
    ),
    Org(
        "St Elara University Hospital",
        G.PRIVATE_SECTOR,
        ("health",),
        ("patch-management",),
        "st-elara.example",
        "+31 71 555 1600",
        "Academic hospital with 1,200 beds and the region's trauma centre.",
        (
            Person("agnes.lund", "Agnes Lund", "Chief information officer"),
            Person("samuel.okoro", "Samuel Okoro", "Medical device security officer", "a"),
        ),
    ),
    Org(
        "Kestrel Water Company",
        G.PRIVATE_SECTOR,
        ("drinking-water", "waste-water"),
        ("patch-management",),
        "kestrel-water.example",
        "+31 10 555 1700",
        "Supplies drinking water to 2.1 million people and treats the capital's waste water.",
        (
            Person("helga.strand", "Helga Strand", "Director of operations"),
            Person("niko.virtanen", "Niko Virtanen", "SCADA engineer", "a"),
        ),
    ),
    Org(
        "Orbis Ground Stations",
        G.PRIVATE_SECTOR,
        ("space",),
        ("network-infrastructure",),
        "orbis-ground.example",
        "+31 58 555 1800",
        "Operates satellite ground stations for earth observation and navigation services.",
        (
            Person("vera.kuznetsova", "Vera Kuznetsova", "Managing director"),
            Person("erik.dahl", "Erik Dahl", "Network engineer", "a"),
        ),
        accepts="none",
    ),
    Org(
        "Halden Chemicals",
        G.PRIVATE_SECTOR,
        ("chemicals",),
        ("patch-management",),
        "halden-chem.example",
        "+31 115 555 1900",
        "Produces industrial chemicals at two sites on the southern coast.",
        (
            Person("robert.maas", "Robert Maas", "Site security manager"),
            Person("jan.kowalczyk", "Jan Kowalczyk", "Process control security engineer", "a"),
        ),
        accepts="none",
    ),
    Org(
        "Greenfield Foods",
        G.PRIVATE_SECTOR,
        ("food",),
        ("patch-management",),
        "greenfield-foods.example",
        "+31 40 555 2000",
        "Dairy and grain processor supplying most of the country's supermarkets.",
        (
            Person("isabel.moreau", "Isabel Moreau", "Head of IT"),
            Person("thijs.bakker", "Thijs Bakker", "Systems administrator", "ao"),
        ),
        accepts="charter",
    ),
    Org(
        "Tessaro Aerospace",
        G.PRIVATE_SECTOR,
        ("defence-industry", "manufacturing"),
        ("vulnerability-correction", "patch-management"),
        "tessaro-aero.example",
        "+31 15 555 2100",
        "Builds avionics and radar components for civil and military aircraft.",
        (
            Person("carlo.bianchi", "Carlo Bianchi", "Chief security officer"),
            Person("anna.weiss", "Anna Weiss", "Product security engineer", "a"),
        ),
    ),
    Org(
        "Avaloria Broadcasting Corporation",
        G.PRIVATE_SECTOR,
        ("media",),
        ("patch-management",),
        "abc-avaloria.example",
        "+31 35 555 2200",
        "Public broadcaster for radio, television and online news, and the channel for "
        "public warnings in a crisis.",
        (
            Person("david.okafor", "David Okafor", "Chief technology officer"),
            Person("sara.lindgren", "Sara Lindgren", "Broadcast systems security analyst", "a"),
        ),
    ),
    Org(
        "AvaTrust Certificate Services",
        G.PRIVATE_SECTOR,
        ("digital-infrastructure",),
        ("trust-intermediaries",),
        "avatrust.example",
        "+31 20 555 2300",
        "Qualified trust service provider issuing web server and e-signature certificates.",
        (
            Person("johan.berglund", "Johan Berglund", "Head of compliance"),
            Person("lea.fischer", "Lea Fischer", "PKI operations engineer", "a"),
        ),
    ),
    Org(
        "AvaNet Telecom",
        G.NETWORK_OPERATOR,
        ("telecom", "digital-infrastructure"),
        ("network-infrastructure", "routing-addressing-dns"),
        "avanet.example",
        "+31 20 555 2400",
        "Fixed and mobile operator with the country's largest IP backbone.",
        (
            Person("stefan.richter", "Stefan Richter", "Head of network security"),
            Person("yara.nassar", "Yara Nassar", "Abuse desk analyst", "a"),
            Person("elena.varga", "Elena Varga", "IT service manager", "o"),
            Person("mikkel.sorensen", "Mikkel Sørensen", "DNS and routing engineer", "a"),
        ),
    ),
    Org(
        "Quillon Software",
        G.SOFTWARE_VENDOR,
        ("ict-service-management",),
        ("vulnerability-correction", "patch-management"),
        "quillon.example",
        "+31 30 555 2500",
        "Makes the case-management software used by most municipalities.",
        (
            Person("hannah.vogel", "Hannah Vogel", "VP of engineering"),
            Person("arjun.mehta", "Arjun Mehta", "Product security incident response lead", "a"),
        ),
    ),
    Org(
        "Castellan Managed Security",
        G.SOFTWARE_VENDOR,
        ("ict-service-management",),
        ("vulnerability-correction", "incident-response"),
        "castellan-security.example",
        "+31 20 555 2600",
        "Managed security service provider running SOCs for 140 mid-sized companies.",
        (
            Person("noah.fleming", "Noah Fleming", "Managing director"),
            Person("zoe.laurent", "Zoe Laurent", "Threat hunter", "a"),
            Person("ivan.horvat", "Ivan Horvat", "Incident responder", "a"),
        ),
    ),
    Org(
        "CERT-AV",
        G.CSIRT,
        ("digital-infrastructure", "public-administration"),
        ("incident-response",),
        "cert-av.example",
        "+31 70 555 2700",
        "The national computer security incident response team, coordinating vulnerability "
        "disclosure and large-scale incidents.",
        (
            Person("katarina.ek", "Katarina Ek", "Team lead"),
            Person("omar.saleh", "Omar Saleh", "Incident handler", "a"),
            Person("julia.meyer", "Julia Meyer", "Vulnerability coordinator", "ao"),
        ),
        guests=(("amira.haddad", "a", "Seconded threat analyst"),),
    ),
    Org(
        "FinCERT Avaloria",
        G.CSIRT,
        ("banking", "financial-market"),
        ("incident-response",),
        "fincert.example",
        "+31 20 555 2800",
        "The financial sector's shared CSIRT, funded by the banks and the stock exchange.",
        (
            Person("lars.eriksen", "Lars Eriksen", "Head of FinCERT"),
            Person("nina.kovac", "Nina Kovac", "Threat intelligence analyst", "a"),
        ),
    ),
    Org(
        "University of Kestrel",
        G.ACADEMIA,
        ("research", "education"),
        ("encryption-standards",),
        "uni-kestrel.example",
        "+31 10 555 2900",
        "Its Institute for Security and Cryptography researches applied cryptography and "
        "trains the country's security engineers.",
        (
            Person("yusuf.demir", "Yusuf Demir", "Professor of applied cryptography"),
            Person("emma.visser", "Emma Visser", "PhD researcher", "a"),
        ),
    ),
    Org(
        "Digital Rights Avaloria",
        G.CIVIL_SOCIETY,
        ("digital-providers",),
        (),
        "digitalrights-av.example",
        "+31 20 555 3000",
        "Non-profit defending privacy and freedom of expression online.",
        (
            Person("miriam.cohen", "Miriam Cohen", "Executive director"),
            Person("tobias.frank", "Tobias Frank", "Policy researcher", "a"),
        ),
        accepts="none",
    ),
    Org(
        "Avaloria Standards Institute",
        G.STANDARDS_BODY,
        ("manufacturing", "ict-service-management"),
        ("encryption-standards",),
        "asi-standards.example",
        "+31 15 555 3100",
        "National standards body; hosts the mirror committees for information security "
        "and IoT standards.",
        (
            Person("beatrix.hoff", "Beatrix Hoff", "Standards director"),
            Person("paulo.silva", "Paulo Silva", "Committee secretary", "o"),
        ),
        guests=(("yusuf.demir", "r", "Chair, cryptography committee"),),
    ),
    Org(
        "AV Domain Registry Foundation",
        G.TECHNICAL_COMMUNITY,
        ("digital-infrastructure",),
        ("routing-addressing-dns", "trust-intermediaries"),
        "av-registry.example",
        "+31 26 555 3200",
        "Runs the .av country-code top-level domain and its DNSSEC signing.",
        (
            Person("greta.olsen", "Greta Olsen", "Chief technology officer"),
            Person("ahmed.karim", "Ahmed Karim", "DNS operations engineer", "a"),
            Person("lotte.devries", "Lotte de Vries", "Registrar relations manager", "ao"),
        ),
    ),
]

APPLICANTS: list[Org] = [
    Org(
        "Lumen Cloud Hosting",
        G.PRIVATE_SECTOR,
        ("digital-infrastructure",),
        ("network-infrastructure",),
        "lumen-cloud.example",
        "+31 20 555 4100",
        "Data-centre and cloud hosting provider in two locations.",
        (Person("rutger.smit", "Rutger Smit", "Security officer"),),
    ),
    Org(
        "Avaloria Waste Services",
        G.PRIVATE_SECTOR,
        ("waste-management",),
        ("patch-management",),
        "aws-waste.example",
        "+31 30 555 4200",
        "Municipal waste collection and recycling for the northern provinces.",
        (Person("ilse.vermeer", "Ilse Vermeer", "IT manager"),),
    ),
    Org(
        "Coastal Ferries",
        G.PRIVATE_SECTOR,
        ("transport",),
        ("patch-management",),
        "coastal-ferries.example",
        "+31 22 555 4300",
        "Ferry operator serving the islands.",
        (Person("jonas.pauls", "Jonas Pauls", "Fleet IT lead"),),
    ),
    Org(
        "Institute for Security Policy Studies",
        G.ACADEMIA,
        ("research",),
        (),
        "isps.example",
        "+31 70 555 4400",
        "Independent think tank on security and technology policy.",
        (Person("marta.ruiz", "Marta Ruiz", "Research fellow"),),
    ),
]

REJECTED = Org(
    "Cyber Solutions Trading Ltd",
    G.PRIVATE_SECTOR,
    ("ict-service-management",),
    (),
    "cst-trading.example",
    "+31 20 555 4900",
    "Security consultancy.",
    (Person("alex.grant", "Alex Grant", "Sales director"),),
)
REJECTION_REASON = (
    "We could not verify the applicant: the registered address belongs to a mail-forwarding "
    "service and the chamber of commerce has no record of the company."
)

# (name, visibility, sector, owner, members, invited but not yet joined, asked to join)
GROUPS: list[dict[str, Any]] = [
    {
        "name": "Finance sector",
        "visibility": WorkingGroup.Visibility.OPEN,
        "sector": "banking",
        "description": "Banks, market infrastructure, their supervisor and FinCERT exchange "
        "fraud and attack patterns and prepare joint exercises.",
        "owner": "lars.eriksen",
        "members": ["tomas.brandt", "victoria.hale", "olga.sandberg", "nina.kovac", "zoe.laurent"],
    },
    {
        "name": "DNS operators",
        "visibility": WorkingGroup.Visibility.INVITE_ONLY,
        "sector": "digital-infrastructure",
        "description": "Operators of authoritative and resolving DNS coordinate on DNSSEC, "
        "abuse handling and incidents affecting name resolution.",
        "owner": "greta.olsen",
        "members": ["mikkel.sorensen", "omar.saleh", "ahmed.karim"],
        "requested": ["lea.fischer"],
    },
    {
        "name": "Energy regulators liaison",
        "visibility": WorkingGroup.Visibility.CONFIDENTIAL,
        "sector": "energy",
        "description": "A closed channel between the energy regulator, the grid operators "
        "and the NCSC to discuss supervisory findings before they are public.",
        "owner": "sofia.marin",
        "members": ["lukas.brenner", "maria.lindqvist", "jonas.weller"],
        "invited": ["niko.virtanen"],
    },
]

# The accounts worth trying, shown after loading: (username, role, organisation, what to see).
SIGN_INS: list[tuple[str, str, str, str]] = [
    (COORDINATOR, "Coordinator", "—", "applications, rules, every group, audit trail"),
    (
        "maria.lindqvist",
        "Representative and org admin",
        "Nordvale Energy",
        "accepts rules, manages people",
    ),
    ("tomas.brandt", "Analyst", "Crown Bank of Avaloria", "directory, Finance sector group"),
    ("elena.varga", "Organisation admin", "AvaNet Telecom", "invites people, changes roles"),
    ("jan.kowalczyk", "Analyst, rules not accepted", "Halden Chemicals", "the blocked banner"),
    (
        "lukas.brenner",
        "Member of a confidential group",
        "Brightwater Gas Transmission",
        "Energy regulators liaison",
    ),
    (
        "yusuf.demir",
        "Member of two organisations",
        "University of Kestrel, Avaloria Standards Institute",
        "acting for either",
    ),
]

CHARTER = """\
# Charter of the Avaloria Cyber Coordination Network

## 1. Purpose

The network brings together the government bodies, companies, response teams,
researchers and civil society organisations of the Republic of Avaloria that
share responsibility for a secure and open internet. Most of the country's
networks are privately run while regulation and enforcement sit with the
state; neither side can secure them alone. The network exists so that its
members:

1. learn early what others are seeing — attacks, weaknesses and remedies;
2. agree on priorities and on positions the country takes abroad;
3. comment on government policy before it is adopted; and
4. measure whether cooperation makes them safer.

## 2. Membership

Membership is open to organisations established in Avaloria that hold a role
in one of the critical sectors or in the security tasks of the network. The
National Cyber Security Centre, as coordinator, verifies each applicant's
identity and mandate before admitting it. Each member names at least one
**representative**, who speaks for it and accepts these rules on its behalf.

## 3. Standing

A member that has not accepted the current version of the charter, the
sharing policy and the code of conduct keeps its place in the network but
cannot read or share restricted material until it does.

## 4. Working groups

Members may form working groups on a sector or topic. Each group has at
least one owner who admits members and answers for the group's conduct.

## 5. Decisions and changes

The coordinator publishes changes to these rules as a new version with a
summary of what changed. Members are told of every new version; it applies
to a member from the moment its representative accepts it.

## 6. Leaving

A member may leave at any time. What it shared stays under the marking it
was shared with.
"""

SHARING_POLICY = """\
# Information sharing policy

## Traffic Light Protocol

Everything shared in the network carries a marking under **TLP 2.0** (FIRST):

| marking | who may receive it |
| --- | --- |
| TLP:RED | only the people it was given to, in the conversation or meeting it was given in |
| TLP:AMBER+STRICT | the recipient's own organisation only |
| TLP:AMBER | the recipient's organisation and its clients, on a need-to-know basis |
| TLP:GREEN | the wider community, but not in public |
| TLP:CLEAR | anyone; no restriction |

If a piece of information carries no marking, treat it as TLP:AMBER and ask
the source.

## Attribution

A reporter chooses how it is named: by name, as "a member of its sector",
or anonymously. Members do not try to find out who is behind a report that
is not named, and never say who they think it is.

## Use of shared information

Shared information is used to defend networks and to help others do so. It
is never used against the member who shared it: not for commercial
advantage, and not — unless the law leaves no choice — as evidence in
supervision or enforcement. Regulators that are members follow this rule as
well; their supervisory duties are exercised through their own channels.

## Onward sharing

Information leaves the network only as its marking allows. Sharing with
peer networks abroad follows the agreements published by the coordinator
and never includes TLP:AMBER+STRICT or TLP:RED material without the
reporter's consent.
"""

CODE_OF_CONDUCT = """\
# Code of conduct

1. **Act in good faith.** Share what you know because it helps others;
   correct or withdraw what turns out to be wrong.
2. **Respect the marking.** Handle everything as its TLP marking says, and
   ask when in doubt.
3. **Protect the sources.** Do not speculate about who is behind a
   pseudonymous or anonymous report, in the network or outside it.
4. **No selling.** The network is not a sales channel; do not use contacts
   made here to market products or services.
5. **Be reachable.** Keep your organisation's contact details current and
   answer the coordinator's communication checks.
6. **Disagree openly and politely.** Positions are argued on their merits.
7. **Report breaches.** Tell the coordinator about any breach of these
   rules; the coordinator may suspend a member after hearing it.
"""

RULE_TEXTS = {
    RuleDocument.Kind.CHARTER: CHARTER,
    RuleDocument.Kind.SHARING_POLICY: SHARING_POLICY,
    RuleDocument.Kind.CODE_OF_CONDUCT: CODE_OF_CONDUCT,
}


# --- Loading -------------------------------------------------------------------


def is_loaded() -> bool:
    return get_user_model().objects.filter(username=COORDINATOR, is_demo=True).exists()


def _email(person: Person, org: Org) -> str:
    return f"{person.username}@{org.domain}"


def _conflicts() -> list[str]:
    """Existing people or organisations the demo would collide with."""
    orgs = [*MEMBERS, *APPLICANTS, REJECTED]
    usernames = [COORDINATOR, *(p.username for o in orgs for p in o.people)]
    names = [o.name for o in orgs]
    User = get_user_model()
    found = list(User.objects.filter(username__in=usernames).values_list("username", flat=True))
    found += Organisation.objects.filter(
        Q(name__in=names) | Q(contact_email__in=[_email(o.people[0], o) for o in orgs])
    ).values_list("name", flat=True)
    return sorted(found)


def load() -> bool:
    """Load the demo network. Returns False, changing nothing, if it is already there."""
    if is_loaded():
        return False
    conflicts = _conflicts()
    if conflicts:
        raise DemoError(
            _("This database already holds people or organisations the demo would create: %s")
            % ", ".join(conflicts[:8])
        )
    with transaction.atomic():
        _Loader().run()
    return True


class _Loader:
    def __init__(self) -> None:
        # One hash for every demo account: hashing ~80 passwords would take most of a minute.
        self.password_hash = make_password(settings.ACCORD_DEMO_PASSWORD)
        self.users: dict[str, Any] = {}
        self.orgs: dict[str, Organisation] = {}
        self.sectors = {s.code: s for s in Sector.objects.all()}
        self.tasks = {t.code: t for t in Task.objects.all()}

    def run(self) -> None:
        self.coordinator = self._coordinator()
        self._publish_rules()
        for org in MEMBERS:
            self._admit(org)
        for org in MEMBERS:
            for username, roles, title in org.guests:
                self._join(org, self.users[username], roles, title)
        for org in MEMBERS:
            self._accept_rules(org)
        for org in APPLICANTS:
            self._apply(org)
        rejected = self._apply(REJECTED)
        membership.reject_organisation(rejected, by=self.coordinator, reason=REJECTION_REASON)
        self._open_invitation()
        for spec in GROUPS:
            self._group(spec)
        record(
            "demo.loaded",
            f"The demo network of the {COUNTRY_NAME} was loaded",
            actor="accord demo",
            data={"organisations": len(self.orgs), "people": len(self.users)},
        )
        load_sharing_demo()
        load_contacts_demo()
        publish_all()  # the STIX store TAXII and peers read, anonymous reports included

    def _coordinator(self) -> Any:
        user = get_user_model().objects.create(
            username=COORDINATOR,
            email=f"{COORDINATOR}@ncsc-avaloria.example",
            full_name="Mira Solberg",
            is_coordinator=True,
            is_demo=True,
            timezone=DEMO_TIMEZONE,
            password=self.password_hash,
        )
        record(
            "account.coordinator_changed",
            f"{COORDINATOR} is now a coordinator",
            actor="accord demo",
            target=user,
            data={"is_coordinator": True},
        )
        return user

    def _publish_rules(self) -> None:
        for document in RuleDocument.objects.all():
            if document.current_version is None and document.kind in RULE_TEXTS:
                rules.publish_version(
                    document,
                    body=RULE_TEXTS[document.kind],
                    change_summary="First version.",
                    by=self.coordinator,
                )

    def _apply(self, org: Org) -> Organisation:
        contact = org.people[0]
        organisation = membership.submit_application(
            name=org.name,
            country=DEMO_COUNTRY,
            stakeholder_group=org.group,
            sectors=[self.sectors[c] for c in org.sectors],
            tasks=[self.tasks[c] for c in org.tasks],
            contact_name=contact.full_name,
            contact_email=_email(contact, org),
            contact_phone=org.phone,
            website=f"https://www.{org.domain}",
            description=org.description,
        )
        self.orgs[org.name] = organisation
        return organisation

    def _admit(self, org: Org) -> None:
        organisation = self._apply(org)
        invitation = membership.verify_organisation(
            organisation,
            by=self.coordinator,
            note="Checked against the trade register and confirmed by telephone.",
        )
        organisation.refresh_from_db()  # the service saved its own copy as verified
        contact = org.people[0]
        self._accept(invitation, contact)
        admin = self.users[contact.username]
        for person in org.people[1:]:
            invitation, _secret = membership.invite_person(
                organisation,
                email=_email(person, org),
                full_name=person.full_name,
                is_representative="r" in person.roles,
                is_analyst="a" in person.roles,
                is_org_admin="o" in person.roles,
                by=admin,
            )
            self._accept(invitation, person)

    def _accept(self, invitation: Any, person: Person) -> None:
        # No password here: the shared demo hash is set below, without hashing again.
        joined = membership.accept_invitation(
            invitation,
            username=person.username,
            full_name=person.full_name,
            password=None,  # type: ignore[arg-type]
        )
        user = joined.user
        user.is_demo, user.timezone, user.password = True, DEMO_TIMEZONE, self.password_hash
        user.save(update_fields=["is_demo", "timezone", "password"])
        joined.membership.title = person.title
        joined.membership.save(update_fields=["title"])
        self.users[person.username] = user

    def _join(self, org: Org, user: Any, roles: str, title: str) -> None:
        """Someone who already belongs to another organisation joins this one too."""
        organisation = self.orgs[org.name]
        admin = self.users[org.people[0].username]
        invitation, _secret = membership.invite_person(
            organisation,
            email=user.email,
            full_name=user.full_name,
            is_representative="r" in roles,
            is_analyst="a" in roles,
            is_org_admin="o" in roles,
            by=admin,
        )
        joined = membership.accept_invitation(invitation, user=user)
        joined.membership.title = title
        joined.membership.save(update_fields=["title"])

    def _accept_rules(self, org: Org) -> None:
        organisation = self.orgs[org.name]
        representative = self.users[org.people[0].username]
        if org.accepts == "all":
            rules.accept_all_current(organisation, by=representative)
        elif org.accepts == "charter":
            charter = RuleDocument.objects.get(kind=RuleDocument.Kind.CHARTER).current_version
            if charter is not None:
                rules.accept_version(charter, organisation, by=representative)

    def _open_invitation(self) -> None:
        """One invitation nobody has answered yet, for the people pages."""
        organisation = self.orgs["Port of Kestrel Harbour"]
        membership.invite_person(
            organisation,
            email="new.analyst@kestrel-port.example",
            full_name="Ruben Alves",
            by=self.users["anders.holm"],
        )

    def _group(self, spec: dict[str, Any]) -> None:
        owner = self.users[spec["owner"]]
        group = workgroups.create_group(
            name=spec["name"],
            description=spec["description"],
            visibility=spec["visibility"],
            sector=self.sectors.get(spec["sector"]),
            by=owner,
        )
        open_group = spec["visibility"] == WorkingGroup.Visibility.OPEN
        for username in spec["members"]:
            user = self.users[username]
            if not open_group:
                workgroups.invite_to_group(
                    group, user=user, organisation=self._home(user), by=owner
                )
            workgroups.join_group(group, by=user, organisation=self._home(user))
        for username in spec.get("invited", []):
            user = self.users[username]
            workgroups.invite_to_group(group, user=user, organisation=self._home(user), by=owner)
        for username in spec.get("requested", []):
            user = self.users[username]
            workgroups.join_group(group, by=user, organisation=self._home(user))

    @staticmethod
    def _home(user: Any) -> Organisation:
        """The organisation a person joined first: the one they act for in groups."""
        return user.memberships.order_by("joined_at", "pk").first().organisation
