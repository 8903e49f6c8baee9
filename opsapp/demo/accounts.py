"""Demo stage 1: the S3 domains, the organisations and the accounts of CONTRACTS.md.

Everything here comes from the `rng` the demo loader hands in (seeded with a fixed
number) and from the fixed date `AS_OF`, never from the clock, so two loads write the
same names, VAT numbers and figures. The organisations are fictional: companies mostly
seated in Piemonte (NUTS-2 ITC1), some elsewhere in northern Italy and a few abroad,
corporate and public buyers (many from outside the region), the implementing innovation
hubs, investors and universities. Later stages read the returned context instead of
querying back what this one wrote.
"""

from __future__ import annotations

import random
import unicodedata
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from stdnum import luhn
from stdnum.es import cif
from stdnum.eu import vat as eu_vat
from stdnum.iso7064 import mod_11_10
from stdnum.si import ddv

from opsapp.accounts import sme
from opsapp.accounts.models import (
    Membership,
    MembershipRole,
    Organisation,
    OrganisationKind,
    OwnershipLink,
    S3Domain,
    SizeClass,
    User,
)
from opsapp.accounts.organisations import DEFAULT_S3_DOMAINS
from opsapp.accounts.passwords import hash_password
from opsapp.core.roles import Role
from opsapp.extensions import db

# The demo's "today" for ages and the last closed financial year (2025): a fixed date,
# so the data does not drift from one load to the next.
AS_OF = date(2026, 1, 1)
CREATED_AT = datetime(2025, 12, 1, 8, 0, tzinfo=UTC)
EMAIL_DOMAIN = "demo.opsapp.eu"
HOME_REGION = "ITC1"

S3_DOMAINS = DEFAULT_S3_DOMAINS

# --- places --------------------------------------------------------------------------
# city: (NUTS-2, Italian VAT office code (the province), streets with postcodes,
#        local names that companies take, S3 domains strong there)

CITIES: dict[str, tuple[str, str, list[tuple[str, str]], list[str], list[str]]] = {
    # Piemonte (ITC1)
    "Torino": ("ITC1", "001", [
        ("Via Nizza", "10126"), ("Corso Castelfidardo", "10138"), ("Via Livorno", "10144"),
        ("Corso Settembrini", "10135"), ("Via Borgo Dora", "10152"), ("Via Cigna", "10155"),
        ("Corso Duca degli Abruzzi", "10129"), ("Via Principe Amedeo", "10123"),
        ("Corso Re Umberto", "10128"), ("Corso Unione Sovietica", "10134"),
        ("Corso Marche", "10146"), ("Via Madama Cristina", "10125"),
        ("Corso Regina Margherita", "10153"), ("Via Frejus", "10139"),
    ], ["Mole", "Lingotto", "Superga", "Dora", "Valentino", "Mirafiori", "Crocetta",
        "Vanchiglia", "Aurora", "Sangone", "Taurina", "Subalpina", "Stura", "San Salvario"],
        ["aerospace", "automotive", "mechatronics", "ict", "life_sciences", "green_chemistry",
         "energy", "agrifood", "textile"]),
    "Moncalieri": ("ITC1", "001", [("Strada Vivero", "10024"), ("Corso Trieste", "10024")],
                   ["Collina", "Sangone"], ["automotive", "mechatronics", "energy"]),
    "Rivoli": ("ITC1", "001", [("Corso Francia", "10098"), ("Via Pavia", "10098")],
               ["Valsusa", "Rocciamelone"], ["automotive", "aerospace", "mechatronics"]),
    "Collegno": ("ITC1", "001", [("Corso Pastrengo", "10093"), ("Via Torino", "10093")],
                 ["Certosa", "Dora Riparia"], ["aerospace", "mechatronics", "ict"]),
    "Ivrea": ("ITC1", "001", [("Via Jervis", "10015"), ("Corso Vercelli", "10015"),
                              ("Via Castiglia", "10015")],
              ["Canavese", "Eporedia", "Serra", "Dora Baltea"], ["ict", "mechatronics", "life_sciences"]),
    "Pinerolo": ("ITC1", "001", [("Corso Torino", "10064"), ("Via Saluzzo", "10064"),
                                 ("Stradale Fenestrelle", "10064")],
                 ["Pinerolese", "Chisone", "Pellice"], ["mechatronics", "automotive", "energy"]),
    "Novara": ("ITC1", "003", [("Corso della Vittoria", "28100"), ("Via Fauser", "28100"),
                               ("Via Perrone", "28100"), ("Corso Trieste", "28100")],
               ["Novarese", "Agogna", "Cupola", "Ticino"], ["green_chemistry", "life_sciences", "agrifood", "ict"]),
    "Vercelli": ("ITC1", "002", [("Corso Rigola", "13100"), ("Via Trino", "13100"),
                                 ("Corso Salamano", "13100")],
                 ["Vercellese", "Risaie", "Baraggia"], ["agrifood", "energy", "green_chemistry"]),
    "Biella": ("ITC1", "096", [("Via Cernaia", "13900"), ("Corso Rivetti", "13900"),
                               ("Via Ivrea", "13900"), ("Via Repubblica", "13900")],
               ["Biellese", "Oropa", "Cervo", "Mombarone"], ["textile", "mechatronics", "ict"]),
    "Cuneo": ("ITC1", "004", [("Corso Nizza", "12100"), ("Corso Giolitti", "12100"),
                              ("Via Bra", "12100"), ("Via Cascina Colombaro", "12100")],
              ["Monviso", "Bisalta", "Granda", "Maira", "Gesso"], ["agrifood", "mechatronics", "energy"]),
    "Alba": ("ITC1", "004", [("Corso Langhe", "12051"), ("Via Ognissanti", "12051"),
                             ("Corso Cortemilia", "12051")],
             ["Langhe", "Roero", "Alta Langa", "Tanaro"], ["agrifood", "green_chemistry", "ict"]),
    "Bra": ("ITC1", "004", [("Via Pollenzo", "12042"), ("Via Cuneo", "12042")],
            ["Pollenzo", "Roero"], ["agrifood", "life_sciences"]),
    "Asti": ("ITC1", "005", [("Corso Alessandria", "14100"), ("Via Guttuari", "14100"),
                             ("Corso Savona", "14100")],
             ["Monferrato", "Belbo", "Astigiana"], ["agrifood", "energy", "mechatronics"]),
    "Alessandria": ("ITC1", "006", [("Spalto Marengo", "15121"), ("Via Pavia", "15121"),
                                    ("Viale Teresa Michel", "15121"), ("Corso Acqui", "15121")],
                    ["Marengo", "Bormida", "Cittadella"], ["green_chemistry", "mechatronics", "energy"]),
    "Casale Monferrato": ("ITC1", "006", [("Strada Valenza", "15033"), ("Via Roma", "15033")],
                          ["Monferrato", "Po"], ["green_chemistry", "energy", "agrifood"]),
    # Lombardia (ITC4)
    "Milano": ("ITC4", "015", [("Via Tortona", "20144"), ("Viale Monza", "20127"),
                               ("Via Ripamonti", "20141"), ("Viale Sarca", "20126"),
                               ("Via Savona", "20144")],
               ["Navigli", "Brera", "Bicocca", "Ambrosiana", "Lambro", "Isola"],
               ["ict", "life_sciences", "textile", "energy", "green_chemistry"]),
    "Bergamo": ("ITC4", "016", [("Via Stezzano", "24126"), ("Via Zanica", "24126")],
                ["Orobica", "Serio"], ["mechatronics", "automotive", "energy"]),
    "Brescia": ("ITC4", "017", [("Via Triumplina", "25123"), ("Via Orzinuovi", "25125")],
                ["Leonessa", "Mella", "Franciacorta"], ["mechatronics", "automotive", "agrifood"]),
    "Pavia": ("ITC4", "018", [("Via Ferrata", "27100"), ("Viale Cremona", "27100")],
              ["Ticinese", "Certosa"], ["life_sciences", "ict"]),
    # Liguria (ITC3)
    "Genova": ("ITC3", "010", [("Via Melen", "16152"), ("Via Greto di Cornigliano", "16152"),
                               ("Corso Perrone", "16152"), ("Via XX Settembre", "16121")],
               ["Lanterna", "Erzelli", "Polcevera", "Bisagno"], ["ict", "energy", "mechatronics", "life_sciences"]),
    "Savona": ("ITC3", "009", [("Via Stalingrado", "17100"), ("Corso Ricci", "17100")],
               ["Priamar", "Letimbro"], ["energy", "green_chemistry"]),
    "La Spezia": ("ITC3", "011", [("Viale San Bartolomeo", "19126"), ("Via del Molo", "19126")],
                  ["Golfo", "Lunigiana"], ["mechatronics", "aerospace"]),
    # Emilia-Romagna (ITH5)
    "Bologna": ("ITH5", "037", [("Via Stalingrado", "40128"), ("Via della Beverara", "40131"),
                                ("Via Emilia Ponente", "40133")],
                ["Felsina", "Reno", "San Luca"], ["mechatronics", "ict", "automotive"]),
    "Modena": ("ITH5", "036", [("Via Emilia Est", "41122"), ("Strada Morane", "41125")],
               ["Secchia", "Ghirlandina"], ["automotive", "mechatronics", "life_sciences"]),
    "Parma": ("ITH5", "034", [("Via Mantova", "43122"), ("Strada Langhirano", "43124")],
              ["Ducale", "Taro"], ["agrifood", "mechatronics"]),
    "Reggio Emilia": ("ITH5", "035", [("Via Gramsci", "42124"), ("Via Hiroshima", "42124")],
                      ["Crostolo", "Tricolore"], ["mechatronics", "agrifood"]),
}

# How many companies each region gets, and the weight of each city inside it.
ITALIAN_REGIONS = [
    ("ITC1", 56, {"Torino": 22, "Moncalieri": 2, "Rivoli": 2, "Collegno": 2, "Ivrea": 4, "Pinerolo": 3,
                  "Novara": 4, "Vercelli": 2, "Biella": 4, "Cuneo": 4, "Alba": 4, "Bra": 1, "Asti": 3,
                  "Alessandria": 3, "Casale Monferrato": 1}),
    ("ITC4", 8, {"Milano": 5, "Bergamo": 1, "Brescia": 1, "Pavia": 1}),
    ("ITC3", 5, {"Genova": 3, "Savona": 1, "La Spezia": 1}),
    ("ITH5", 5, {"Bologna": 2, "Modena": 1, "Parma": 1, "Reggio Emilia": 1}),
]

# Companies from abroad: written by hand, their numbers drawn like everyone else's.
# (legal name, country, NUTS-2, street, postcode, city, S3 domains, kind)
FOREIGN_COMPANIES = [
    ("Belledonne Robotique SAS", "FR", "FRK2", "12 Rue Général Mangin", "38100", "Grenoble",
     ["mechatronics", "ict"], OrganisationKind.STARTUP),
    ("Confluence Biotech SAS", "FR", "FRK2", "45 Quai Rambaud", "69002", "Lyon",
     ["life_sciences"], OrganisationKind.SME),
    ("Schwaben Sensorik GmbH", "DE", "DE11", "Heilbronner Straße 150", "70191", "Stuttgart",
     ["automotive", "mechatronics"], OrganisationKind.SME),
    ("Bavaria Leichtbau GmbH", "DE", "DE21", "Leopoldstraße 210", "80804", "München",
     ["aerospace", "green_chemistry"], OrganisationKind.STARTUP),
    ("Levante Agrotech S.L.", "ES", "ES52", "Avinguda de les Corts Valencianes 26", "46015", "València",
     ["agrifood", "ict"], OrganisationKind.STARTUP),
    ("Karst Energija d.o.o.", "SI", "SI04", "Dunajska cesta 156", "1000", "Ljubljana",
     ["energy"], OrganisationKind.SME),
]

TIMEZONES = {"IT": "Europe/Rome", "FR": "Europe/Paris", "DE": "Europe/Berlin", "ES": "Europe/Madrid",
             "SI": "Europe/Ljubljana"}

# --- what companies do ----------------------------------------------------------------
# S3 domain: (words for names, NACE codes, offers)

SECTORS: dict[str, tuple[list[str], list[str], list[str]]] = {
    "aerospace": (
        ["Aerospace", "Avionica", "Space Systems", "Aerostrutture", "Droni", "Orbital"],
        ["30.30", "33.16", "26.51", "25.62"],
        ["Lightweight composite brackets and certified precision machining for aerostructures.",
         "Attitude-control and power subsystems for small satellites, qualified for low Earth orbit.",
         "Drone-based inspection of bridges, power lines and aircraft, with automatic defect reports.",
         "Additive manufacturing of titanium parts for aircraft engines, with full traceability.",
         "Ground-segment software that plans and monitors satellite passes for Earth-observation operators."],
    ),
    "automotive": (
        ["Mobility", "E-Drive", "Automotive", "Powertrain", "Stampi", "Car Lab"],
        ["29.32", "29.31", "25.50", "28.11", "72.19"],
        ["Electric-drive inverters and battery-management electronics for light commercial vehicles.",
         "Precision moulds and die-casting of aluminium structural parts for car makers.",
         "Retrofit kits that turn diesel vans into battery-electric ones, type-approved.",
         "Testing rigs and data analytics for powertrain validation.",
         "Recycled-carbon interior components for low-volume sports cars."],
    ),
    "green_chemistry": (
        ["Biomateriali", "Green Chemicals", "Bioplastiche", "Circular Polymers", "CleanTech", "Chimica Verde"],
        ["20.16", "20.59", "20.14", "38.32", "72.19"],
        ["Compostable bioplastics made from agricultural waste, for food packaging.",
         "Solvent recovery and purification units for pharmaceutical and coating plants.",
         "Bio-based resins that replace epoxies in wind-turbine blades and boats.",
         "Chemical recycling of mixed plastic waste into secondary raw materials.",
         "Enzymes for low-temperature textile dyeing and leather tanning."],
    ),
    "mechatronics": (
        ["Robotics", "Meccatronica", "Automazione", "Motion Control", "Sensori", "Machines"],
        ["28.41", "28.99", "27.11", "26.51", "33.20"],
        ["Collaborative robot cells for small-batch assembly, programmed by demonstration.",
         "Predictive-maintenance sensors and software for machine tools.",
         "Custom automation lines for packaging and end-of-line palletising.",
         "Precision linear actuators and motion controllers for medical and lab equipment.",
         "Machine-vision quality control that spots surface defects on metal parts in real time."],
    ),
    "agrifood": (
        ["AgriTech", "Food Innovation", "Agroalimentare", "Vigna Digitale", "Nocciole", "Farm Lab"],
        ["01.25", "10.89", "10.82", "11.02", "10.61"],
        ["Precision-farming sensors and a decision-support app for hazelnut and vineyard growers.",
         "Plant-based protein ingredients from legumes grown in the region.",
         "Shelf-life extension of fresh produce with natural edible coatings.",
         "Traceability platform that follows wine and cheese from the field to the shelf.",
         "Upcycled flours and snacks made from brewers' spent grain and rice bran."],
    ),
    "textile": (
        ["Tessuti Tecnici", "Smart Textiles", "Filati", "Knit Lab", "Fibre Innovative"],
        ["13.20", "13.96", "13.10", "14.13"],
        ["Technical fabrics with embedded sensors for workwear and healthcare.",
         "Recycled wool yarns with a certified low-carbon footprint for fashion brands.",
         "Flame-retardant, PFAS-free finishing for upholstery and transport textiles.",
         "Digital pattern-making and on-demand knitting for small fashion labels."],
    ),
    "life_sciences": (
        ["Biotech", "MedTech", "Diagnostica", "Life Sciences", "Bioinformatica", "Pharma"],
        ["21.20", "32.50", "72.11", "26.60", "86.90"],
        ["Point-of-care diagnostic tests for sepsis markers, results in fifteen minutes.",
         "Biocompatible 3D-printed implants personalised from CT scans.",
         "AI software that triages chest X-rays for radiologists, CE-marked.",
         "Remote-monitoring platform for patients with chronic heart failure.",
         "Cell-culture media and assay services for drug discovery."],
    ),
    "ict": (
        ["Digital", "Data Lab", "Software", "Cloud", "Cyber", "AI Labs"],
        ["62.01", "62.02", "63.11", "58.29"],
        ["Cybersecurity monitoring for small manufacturers, managed from a regional operations centre.",
         "Industrial IoT platform connecting legacy machines to the cloud.",
         "Computer-vision APIs for retail shelf analytics.",
         "Digital-twin software for factories and building sites.",
         "E-procurement and supplier-rating software for public bodies.",
         "Natural-language assistants for customer service in Italian and other European languages."],
    ),
    "energy": (
        ["Energia", "Solar", "Hydrogen", "Smart Grid", "Power Systems"],
        ["27.12", "35.11", "43.21", "28.25", "71.12"],
        ["Energy-community management software and smart meters for municipalities.",
         "Small electrolysers producing green hydrogen for industrial users.",
         "Heat-recovery systems for foundries and ceramic kilns.",
         "Agrivoltaic structures that combine solar panels with crops.",
         "Battery storage systems built from second-life electric-vehicle batteries."],
    ),
}

# Domains that often go together, for a company's second domain.
RELATED = {
    "aerospace": ["mechatronics", "ict", "green_chemistry"],
    "automotive": ["mechatronics", "energy", "ict"],
    "green_chemistry": ["energy", "textile", "agrifood"],
    "mechatronics": ["automotive", "aerospace", "ict"],
    "agrifood": ["ict", "green_chemistry", "life_sciences"],
    "textile": ["green_chemistry", "ict"],
    "life_sciences": ["ict", "agrifood"],
    "ict": ["life_sciences", "mechatronics", "energy"],
    "energy": ["ict", "green_chemistry", "mechatronics"],
}

YOUNG_DOMAINS = {"ict", "life_sciences", "energy"}

# How many Italian companies have each primary domain (74 in all).
ITALIAN_PRIMARY_DOMAINS = {
    "aerospace": 6, "automotive": 8, "green_chemistry": 8, "mechatronics": 10, "agrifood": 10,
    "textile": 6, "life_sciences": 8, "ict": 12, "energy": 6,
}

COINED_NAMES = ["Tecnova", "Synapsia", "Kinetika", "Vitalia", "Nexum", "Arkada", "Lumina", "Fluxa",
                "Altea", "Vireo", "Orbis", "Cardo", "Quarzo", "Elica", "Metis", "Brina"]

STARTUP_CLOSERS = [
    "First paying clients in Italy; preparing a seed round.",
    "Pilot projects running with two manufacturers; first revenues this year.",
    "Spun out of a university laboratory; product on the market since last year.",
    "A dozen paying clients and a growing recurring revenue.",
    "Looking for corporate partners to scale beyond the regional market.",
]
SME_CLOSERS = [
    "Exports about {pct}% of its turnover, mostly within the EU.",
    "Serves {n} clients in Italy and abroad.",
    "Family-owned, now in its second generation; investing in digital services.",
    "Supplier to several large groups; wants to enter new foreign markets.",
    "Runs its own R&D lab with {r} engineers.",
]

# --- people ----------------------------------------------------------------------------

FIRST_NAMES_IT = [
    "Alessandro", "Andrea", "Anna", "Beatrice", "Carlo", "Chiara", "Claudia", "Daniele", "Davide",
    "Elena", "Elisa", "Emanuele", "Federica", "Federico", "Francesca", "Francesco", "Giacomo",
    "Giorgia", "Giovanni", "Giulia", "Giuseppe", "Ilaria", "Laura", "Lorenzo", "Luca", "Marco",
    "Maria", "Martina", "Matteo", "Michela", "Nicola", "Paola", "Pietro", "Riccardo", "Roberta",
    "Sara", "Simone", "Valentina", "Valeria", "Alberto", "Cristina", "Fabio", "Irene", "Marta",
    "Tommaso", "Veronica", "Gabriele", "Alessia", "Enrico", "Serena",
]
LAST_NAMES_IT = [
    "Aimar", "Allasia", "Balbo", "Barbero", "Bergese", "Boero", "Borgna", "Bosio", "Bottero",
    "Cagliero", "Cavallero", "Cerutti", "Chiabrando", "Colombo", "Costa", "Dematteis", "Dutto",
    "Ferrero", "Garelli", "Gertosio", "Giordano", "Gribaudo", "Lingua", "Manassero", "Mondino",
    "Morra", "Olivero", "Operti", "Pautasso", "Penna", "Racca", "Ravera", "Rinaudo", "Rosso",
    "Serra", "Sobrero", "Tallone", "Viglione", "Vigna", "Zanotti", "Bruno", "Ricci", "Conti",
    "Marino", "Greco", "Fontana", "Moretti", "Barale", "Quaglia", "Peano",
]
FOREIGN_NAMES = {
    "FR": (["Camille", "Julien", "Élodie", "Thomas", "Nicolas", "Aurélie"],
           ["Roux", "Girard", "Faure", "Bernard", "Chevalier", "Moreau"]),
    "DE": (["Jonas", "Miriam", "Stefan", "Lena", "Lukas", "Sabine"],
           ["Weber", "Hoffmann", "Schulz", "Becker", "Krüger", "Wagner"]),
    "ES": (["Jordi", "Lucía", "Pablo", "Ane", "Marta", "Sergio"],
           ["Puig", "García", "Etxeberria", "Navarro", "Ferrer", "Ortega"]),
    "SI": (["Luka", "Maja", "Nina", "Matej", "Tina"],
           ["Novak", "Horvat", "Kovačič", "Zupan", "Krajnc"]),
}
FOUNDER_POSITIONS = ["Founder and CEO", "Co-founder and CEO", "CEO", "Managing director"]
SME_POSITIONS = ["CEO", "Managing director", "General manager", "Head of business development"]
BUYER_POSITIONS = ["Head of procurement", "Open innovation manager", "Purchasing director",
                   "Supplier development manager", "Innovation manager"]

# The people of CONTRACTS.md's fixed accounts: (e-mail local part, full name, role, locale, timezone).
FIXED_PEOPLE = [
    ("admin", "Marco Bertola", Role.ADMIN, "en", "Europe/Rome"),
    ("staff", "Chiara Gallo", Role.STAFF, "it", "Europe/Rome"),
    ("authority", "Paolo Cravero", Role.AUTHORITY, "it", "Europe/Rome"),
    ("evaluator1", "Elena Rinaldi", Role.EVALUATOR, "en", "Europe/Rome"),
    ("evaluator2", "Stefano Bonino", Role.EVALUATOR, "it", "Europe/Rome"),
    ("evaluator3", "Anna Lombardi", Role.EVALUATOR, "en", "Europe/Rome"),
    ("evaluator4", "Luca Negro", Role.EVALUATOR, "en", "Europe/Rome"),
    ("evaluator5", "Katrin Vogel", Role.EVALUATOR, "en", "Europe/Berlin"),
    ("evaluator6", "Francesca Ghione", Role.EVALUATOR, "it", "Europe/Rome"),
    ("mentor1", "Roberto Fasano", Role.MENTOR, "en", "Europe/Rome"),
    ("mentor2", "Silvia Audisio", Role.MENTOR, "it", "Europe/Rome"),
    ("mentor3", "Davide Marchisio", Role.MENTOR, "en", "Europe/Rome"),
    ("mentor4", "Claire Dubois", Role.MENTOR, "en", "Europe/Paris"),
]

# --- buyers, hubs, investors, universities ------------------------------------------------
# (legal name, kind, country, NUTS-2, street, postcode, city, NACE, S3 domains, needs)

BUYERS = [
    ("Gruppo Ferroviario Subalpino S.p.A.", OrganisationKind.CORPORATE_BUYER, "IT", "ITC1",
     "Corso Turati 19", "10128", "Torino", "30.20", ["mechatronics", "ict"],
     "Rolling-stock maker looking for predictive-maintenance sensors, lightweight interiors and "
     "passenger-information software."),
    ("ASL Città di Torino", OrganisationKind.PUBLIC_BUYER, "IT", "ITC1",
     "Via San Secondo 29", "10128", "Torino", "86.10", ["life_sciences", "ict"],
     "Local health authority procuring telemonitoring, point-of-care diagnostics and tools that "
     "shorten waiting lists (pre-commercial procurement possible)."),
    ("Subalpina Automobili S.p.A.", OrganisationKind.CORPORATE_BUYER, "IT", "ITC1",
     "Corso Settembrini 40", "10135", "Torino", "29.10", ["automotive", "mechatronics"],
     "Car maker seeking suppliers of power electronics, recycled materials and end-of-line "
     "quality inspection."),
    ("Aerospazio Sabaudo S.p.A.", OrganisationKind.CORPORATE_BUYER, "IT", "ITC1",
     "Corso Marche 41", "10146", "Torino", "30.30", ["aerospace"],
     "Aerostructures and space-module prime looking for additive manufacturing, composites and "
     "non-destructive testing."),
    ("ASL Langhe e Roero", OrganisationKind.PUBLIC_BUYER, "IT", "ITC1",
     "Via Vida 10", "12051", "Alba", "86.10", ["life_sciences"],
     "Health authority for a rural area: remote care, home diagnostics and hospital logistics."),
    ("Acque Metropolitane Torinesi S.p.A.", OrganisationKind.PUBLIC_BUYER, "IT", "ITC1",
     "Corso XI Febbraio 14", "10152", "Torino", "36.00", ["energy", "ict"],
     "Publicly owned water utility: leak detection, energy efficiency of pumping stations and "
     "sludge valorisation."),
    ("Dolciaria Langarola S.p.A.", OrganisationKind.CORPORATE_BUYER, "IT", "ITC1",
     "Strada Cuneo 22", "12051", "Alba", "10.82", ["agrifood", "green_chemistry"],
     "Confectionery group looking for hazelnut-supply traceability, compostable packaging and "
     "process automation."),
    ("Lanifici Riuniti del Biellese S.p.A.", OrganisationKind.CORPORATE_BUYER, "IT", "ITC1",
     "Via Cernaia 40", "13900", "Biella", "13.10", ["textile", "green_chemistry"],
     "Wool mill group seeking low-impact dyeing and finishing, recycled fibres and digital design "
     "tools."),
    ("Energie Pedemontane S.p.A.", OrganisationKind.CORPORATE_BUYER, "IT", "ITC1",
     "Corso Regina Margherita 267", "10143", "Torino", "35.11", ["energy"],
     "Energy producer buying storage, green hydrogen pilots and energy-community software."),
    ("Novachimica Novarese S.p.A.", OrganisationKind.CORPORATE_BUYER, "IT", "ITC1",
     "Via Fauser 4", "28100", "Novara", "20.14", ["green_chemistry"],
     "Chemical group looking for bio-based intermediates, catalysis and solvent recovery."),
    ("Trasporti Metropolitani Torinesi S.p.A.", OrganisationKind.PUBLIC_BUYER, "IT", "ITC1",
     "Corso Filippo Turati 19/6", "10128", "Torino", "49.31", ["ict", "automotive"],
     "Public transport operator: electric-bus charging, ticketing apps and fleet analytics."),
    ("Caffè Sabaudo S.p.A.", OrganisationKind.CORPORATE_BUYER, "IT", "ITC1",
     "Via Bologna 32", "10152", "Torino", "10.83", ["agrifood"],
     "Coffee roaster looking for compostable capsules, roasting-energy savings and consumer apps."),
    ("Azienda Trasporti Lombarda S.p.A.", OrganisationKind.PUBLIC_BUYER, "IT", "ITC4",
     "Foro Buonaparte 61", "20121", "Milano", "49.31", ["ict", "energy"],
     "Public transport company of the Milan area: predictive maintenance and passenger data."),
    ("Banca Ambrosiana Digitale S.p.A.", OrganisationKind.CORPORATE_BUYER, "IT", "ITC4",
     "Piazza Cordusio 2", "20123", "Milano", "64.19", ["ict"],
     "Bank seeking cybersecurity, document AI and SME credit-scoring solutions."),
    ("ASST Navigli Ospedale Metropolitano", OrganisationKind.PUBLIC_BUYER, "IT", "ITC4",
     "Via Castelvetro 32", "20154", "Milano", "86.10", ["life_sciences"],
     "Hospital trust looking for medical devices, diagnostics and hospital digital twins."),
    ("Emilia Packaging Machines S.p.A.", OrganisationKind.CORPORATE_BUYER, "IT", "ITH5",
     "Via della Beverara 60", "40131", "Bologna", "28.29", ["mechatronics"],
     "Packaging-machine maker seeking machine vision, servo drives and recyclable materials."),
    ("Rheinwerk Automotive GmbH", OrganisationKind.CORPORATE_BUYER, "DE", "DE11",
     "Pragstraße 26", "70376", "Stuttgart", "29.32", ["automotive", "mechatronics"],
     "Tier-1 automotive supplier looking for sensors, power electronics and lightweight parts."),
    ("Bayerische Luftfahrtsysteme AG", OrganisationKind.CORPORATE_BUYER, "DE", "DE21",
     "Willy-Messerschmitt-Straße 1", "85521", "Ottobrunn", "30.30", ["aerospace"],
     "Aircraft-systems group buying composites, avionics software and test services."),
    ("Compagnie Alpine d'Énergie SA", OrganisationKind.CORPORATE_BUYER, "FR", "FRK2",
     "20 Rue Garibaldi", "69006", "Lyon", "35.14", ["energy"],
     "Energy supplier seeking flexibility services, storage and hydrogen mobility."),
    ("Groupe Hospitalier Côte d'Azur", OrganisationKind.PUBLIC_BUYER, "FR", "FRL0",
     "30 Voie Romaine", "06000", "Nice", "86.10", ["life_sciences", "ict"],
     "Public hospital group procuring telemedicine, AI in imaging and infection control."),
]

# Roughly how many people each buyer employs; its figures are drawn around this.
BUYER_STAFF = {
    "Gruppo Ferroviario Subalpino S.p.A.": 6500, "ASL Città di Torino": 9000,
    "Subalpina Automobili S.p.A.": 14000, "Aerospazio Sabaudo S.p.A.": 4200, "ASL Langhe e Roero": 3100,
    "Acque Metropolitane Torinesi S.p.A.": 1000, "Dolciaria Langarola S.p.A.": 5500,
    "Lanifici Riuniti del Biellese S.p.A.": 2100, "Energie Pedemontane S.p.A.": 2800,
    "Novachimica Novarese S.p.A.": 1900, "Trasporti Metropolitani Torinesi S.p.A.": 5000,
    "Caffè Sabaudo S.p.A.": 4000, "Azienda Trasporti Lombarda S.p.A.": 9500,
    "Banca Ambrosiana Digitale S.p.A.": 12000, "ASST Navigli Ospedale Metropolitano": 4500,
    "Emilia Packaging Machines S.p.A.": 3600, "Rheinwerk Automotive GmbH": 11000,
    "Bayerische Luftfahrtsysteme AG": 7500, "Compagnie Alpine d'Énergie SA": 3200,
    "Groupe Hospitalier Côte d'Azur": 6800,
}

HUBS = [
    ("Fondazione Polo Innovazione Subalpino", OrganisationKind.INNOVATION_HUB, "Via Nizza 230", "10126", "Torino",
     "Innovation hub running acceleration and matchmaking programmes for the region's start-ups and SMEs."),
    ("Dora Startup Lab S.r.l.", OrganisationKind.INCUBATOR, "Via Borgo Dora 49", "10152", "Torino",
     "Incubator with 40 resident start-ups, coaching and a seed network."),
    ("Parco Scientifico e Tecnologico del Canavese S.c.r.l.", OrganisationKind.TECHNOLOGY_PARK,
     "Via Jervis 77", "10015", "Ivrea", "Technology park with laboratories, offices and an ICT competence centre."),
]

INVESTORS = [
    ("Mole Ventures SGR S.p.A.", "IT", "ITC1", "Corso Vittorio Emanuele II 82", "10121", "Torino",
     "Venture-capital fund for deep-tech start-ups of north-west Italy; tickets of EUR 0.5-3 m."),
    ("Associazione Angeli Subalpini", "IT", "ITC1", "Via Principe Amedeo 12", "10123", "Torino",
     "Business-angel club; its members co-invest at pre-seed and seed stage."),
    ("Fondo Regionale Crescita Subalpina S.p.A.", "IT", "ITC1", "Galleria San Federico 54", "10121", "Torino",
     "Regional fund providing co-investment and loans to innovative SMEs."),
    ("Ambrosiana Capital Partners SGR S.p.A.", "IT", "ITC4", "Via Borgonuovo 9", "20121", "Milano",
     "Growth-equity fund for industrial SMEs with export potential."),
    ("Alpen Seed Capital GmbH", "DE", "DE21", "Maximilianstraße 35", "80539", "München",
     "Seed investor in industrial technology across the Alpine regions."),
]

UNIVERSITIES = [
    ("Politecnico Subalpino", "Corso Duca degli Abruzzi 24", "10129", "Torino",
     "Technical university: engineering, architecture and design; technology transfer office."),
    ("Università del Piemonte Settentrionale", "Via Perrone 18", "28100", "Novara",
     "University with faculties of pharmacy, medicine, economics and science."),
]

# --- numbers ------------------------------------------------------------------------------

MILLION = 1_000_000
CENT = Decimal("0.01")

# size class: (staff headcount AWU range, turnover range, balance-sheet range), in EUR
SIZE_RANGES = {
    SizeClass.MICRO: ((2, 9.5), (60_000, 1_950_000), (40_000, 1_900_000)),
    SizeClass.SMALL: ((10, 49.5), (2_100_000, 9_800_000), (1_200_000, 9_500_000)),
    SizeClass.MEDIUM: ((50, 245), (10_500_000, 48_000_000), (8_000_000, 41_000_000)),
    SizeClass.LARGE: ((260, 480), (55_000_000, 140_000_000), (44_000_000, 110_000_000)),
}


def _money(rng: random.Random, low: float, high: float) -> Decimal:
    """A whole number of hundreds of euros in [low, high]."""
    return (Decimal(rng.randint(int(low) // 100, int(high) // 100)) * 100).quantize(CENT)


def _headcount(rng: random.Random, low: float, high: float) -> Decimal:
    """Annual work units in half units (part-time staff count as fractions)."""
    return (Decimal(rng.randint(int(low * 2), int(high * 2))) / 2).quantize(CENT)


def size_figures(rng: random.Random, size: SizeClass, startup: bool) -> tuple[Decimal, Decimal, Decimal]:
    (h_lo, h_hi), (t_lo, t_hi), (b_lo, b_hi) = SIZE_RANGES[size]
    if startup and size is SizeClass.MICRO:
        h_lo, h_hi, t_lo, t_hi, b_lo, b_hi = 1.5, 9, 25_000, 1_200_000, 30_000, 900_000
    elif startup and size is SizeClass.SMALL:
        h_lo, h_hi, t_lo, t_hi, b_lo, b_hi = 10, 28, 800_000, 4_500_000, 400_000, 3_500_000
    headcount = _headcount(rng, h_lo, h_hi)
    turnover = _money(rng, t_lo, t_hi)
    balance = _money(rng, b_lo, b_hi)
    if not startup and size is not SizeClass.LARGE and rng.random() < 0.15:
        # Over the turnover ceiling but under the balance-sheet one: the same class,
        # since either financial ceiling is enough.
        ceiling = next(c.turnover_max for c in sme.CEILINGS if c.size_class == size)
        turnover = _money(rng, float(ceiling) * 1.03, float(ceiling) * 1.35)
    return headcount, turnover, balance


def compute_size_class(org: Organisation, links) -> str | None:
    """The class by the application's own rule (Recommendation 2003/361/EC, related enterprises counted)."""
    own = sme.Figures(org.staff_headcount, org.annual_turnover, org.balance_sheet_total)
    related = [sme.RelatedEnterprise(link.enterprise_name, link.share_percent,
                                     sme.Figures(link.staff_headcount, link.annual_turnover, link.balance_sheet_total))
               for link in links]
    result = sme.classify(own, related, public_control=bool(org.public_control))
    return result.size_class.value if result.size_class else None


# --- VAT numbers -------------------------------------------------------------------------


class VatNumbers:
    """Valid, unique VAT numbers for each country, drawn from the demo's random generator."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()

    def _draw(self, country: str, office: str | None) -> str:
        rng = self.rng
        if country == "IT":
            # partita IVA: 7-digit serial, 3-digit office (province) code, Luhn check digit
            base = f"{rng.randint(1, 9_999_999):07d}{office or '001'}"
            return f"IT{base}{luhn.calc_check_digit(base)}"
        if country == "FR":
            siren = f"{rng.randint(10_000_000, 99_999_999)}"
            siren += luhn.calc_check_digit(siren)
            key = int(siren + "12") % 97
            return f"FR{key:02d}{siren}"
        if country == "DE":
            base = f"{rng.randint(10_000_000, 99_999_999)}"
            return f"DE{base}{mod_11_10.calc_check_digit(base)}"
        if country == "ES":
            # CIF of a limited company (B), province code of Valencia (46)
            base = f"B46{rng.randint(0, 99_999):05d}"
            return f"ES{base}{cif.calc_check_digits(base)[0]}"
        if country == "SI":
            base = f"{rng.randint(1_000_000, 9_999_999)}"
            return f"SI{base}{ddv.calc_check_digit(base)}"
        raise ValueError(f"no VAT generator for {country}")

    def new(self, country: str, office: str | None = None) -> str:
        while True:
            number = self._draw(country, office)
            # Every number is checked by the same validator the application uses; a Slovenian
            # serial whose check would be 11 has no valid digit and is drawn again.
            if eu_vat.is_valid(number) and number not in self.used:
                self.used.add(number)
                return number


# --- helpers ---------------------------------------------------------------------------


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = "".join(c if c.isalnum() else " " for c in ascii_text.lower()).split()
    legal = {"s", "r", "l", "p", "a", "srl", "spa", "sas", "gmbh", "ag", "sa", "d", "o", "scrl", "sgr", "c"}
    return "-".join(w for w in words if w not in legal)


def _website(name: str) -> str:
    return f"https://www.{_slug(name)}.example"


def _weighted(rng: random.Random, weights: dict[str, int]) -> str:
    names = list(weights)
    return rng.choices(names, weights=[weights[n] for n in names])[0]


class People:
    """Unique, plausible full names by country."""

    def __init__(self, rng: random.Random, taken=()) -> None:
        self.rng = rng
        self.used: set[str] = set(taken)

    def new(self, country: str = "IT") -> str:
        firsts, lasts = FOREIGN_NAMES.get(country, (FIRST_NAMES_IT, LAST_NAMES_IT))
        while True:
            name = f"{self.rng.choice(firsts)} {self.rng.choice(lasts)}"
            if name not in self.used:
                self.used.add(name)
                return name


# --- the stage --------------------------------------------------------------------------


def load(rng: random.Random, summary: list[str]) -> dict:
    s3 = {code: S3Domain(code=code, name_en=en, name_it=it) for code, en, it in S3_DOMAINS}
    db.session.add_all(s3.values())

    vats = VatNumbers(rng)
    companies, company_country = _companies(rng, s3, vats)
    links = _ownership_links(rng, companies, vats)
    for org in companies:
        org.size_class = compute_size_class(org, links.get(id(org), []))

    buyers = _buyers(rng, s3, vats)
    hubs = [
        Organisation(kind=str(kind), legal_name=name, vat_number=vats.new("IT", CITIES[city][1]), country="IT",
                     nuts2_region="ITC1", address=street, city=city, postcode=postcode,
                     website=_website(name), description=text, created_at=CREATED_AT,
                     founding_date=AS_OF - timedelta(days=rng.randint(8 * 365, 25 * 365)))
        for name, kind, street, postcode, city, text in HUBS
    ]
    investors = [
        Organisation(kind=str(OrganisationKind.INVESTOR), legal_name=name,
                     vat_number=vats.new(country, CITIES[city][1] if country == "IT" else None),
                     country=country, nuts2_region=nuts2, address=street, city=city, postcode=postcode,
                     website=_website(name), nace_code="64.30", description=text, created_at=CREATED_AT,
                     founding_date=AS_OF - timedelta(days=rng.randint(6 * 365, 20 * 365)))
        for name, country, nuts2, street, postcode, city, text in INVESTORS
    ]
    universities = [
        Organisation(kind=str(OrganisationKind.UNIVERSITY), legal_name=name, vat_number=vats.new("IT", CITIES[city][1]),
                     country="IT", nuts2_region="ITC1", address=street, city=city, postcode=postcode,
                     website=_website(name), nace_code="85.42", description=text, public_control=True,
                     created_at=CREATED_AT)
        for name, street, postcode, city, text in UNIVERSITIES
    ]
    for org in investors:
        org.s3_domains = [s3[c] for c in sorted(rng.sample(list(s3), 3))]
    for org in [*hubs, *universities]:
        org.s3_domains = list(s3.values())
    db.session.add_all([*companies, *buyers, *hubs, *investors, *universities])

    users, memberships = _accounts(rng, companies, company_country, buyers, hubs, investors, universities)
    db.session.add_all(users.values())
    db.session.add_all(memberships)
    db.session.flush()

    kinds = Counter(o.kind for o in companies)
    sizes = Counter(o.size_class for o in companies)
    regions = Counter(
        "Piemonte" if o.nuts2_region == HOME_REGION else ("elsewhere in Italy" if o.country == "IT" else "abroad")
        for o in companies
    )
    public = sum(1 for b in buyers if b.kind == OrganisationKind.PUBLIC_BUYER)
    outside = sum(1 for b in buyers if b.nuts2_region != HOME_REGION)
    summary.append(f"{len(s3)} S3 domains.")
    summary.append(
        f"{len(companies)} companies ({kinds[OrganisationKind.STARTUP]} start-ups, {kinds[OrganisationKind.SME]} SMEs, "
        f"{kinds[OrganisationKind.LARGE_COMPANY]} mid-caps; {regions['Piemonte']} in Piemonte, "
        f"{regions['elsewhere in Italy']} elsewhere in Italy, {regions['abroad']} abroad; "
        f"{sizes['micro']} micro, {sizes['small']} small, {sizes['medium']} medium, {sizes['large']} large; "
        f"{sum(len(v) for v in links.values())} ownership links)."
    )
    summary.append(
        f"{len(buyers)} buyers ({len(buyers) - public} corporate, {public} public; {outside} from outside Piemonte), "
        f"{len(hubs)} innovation hubs, {len(investors)} investors, {len(universities)} universities."
    )
    summary.append(
        f"Accounts: admin@{EMAIL_DOMAIN}, staff@{EMAIL_DOMAIN}, authority@{EMAIL_DOMAIN}, "
        f"evaluator1-6@{EMAIL_DOMAIN}, mentor1-4@{EMAIL_DOMAIN}, "
        f"applicant1-{len(companies)}@{EMAIL_DOMAIN} (owner of company N), "
        f"buyer1-{len(buyers)}@{EMAIL_DOMAIN} (owner of buyer N): {len(users)} in all."
    )

    def by_role(role: Role) -> list[User]:
        return [u for u in users.values() if role in u.roles]

    return {
        "as_of": AS_OF,
        "s3": s3,
        "companies": companies,
        "buyers": buyers,
        "hubs": hubs,
        "investors": investors,
        "universities": universities,
        "users": users,
        "admin": users[f"admin@{EMAIL_DOMAIN}"],
        "staff": users[f"staff@{EMAIL_DOMAIN}"],
        "authority": users[f"authority@{EMAIL_DOMAIN}"],
        "evaluators": by_role(Role.EVALUATOR),
        "mentors": by_role(Role.MENTOR),
        "applicants": [users[f"applicant{n}@{EMAIL_DOMAIN}"] for n in range(1, len(companies) + 1)],
        "buyer_users": [users[f"buyer{n}@{EMAIL_DOMAIN}"] for n in range(1, len(buyers) + 1)],
    }


def _companies(rng: random.Random, s3: dict[str, S3Domain], vats: VatNumbers):
    """80 companies: 74 Italian ones generated, 6 foreign ones named by hand, in shuffled order."""
    kinds = ([OrganisationKind.STARTUP] * 29 + [OrganisationKind.SME] * 41 + [OrganisationKind.LARGE_COMPANY] * 4)
    rng.shuffle(kinds)
    # Regions outside Piemonte first, each taking domains its cities are strong in;
    # Piemonte (whose capital has them all) takes what is left.
    quota = dict(ITALIAN_PRIMARY_DOMAINS)
    slots = []  # (nuts2, city weights, primary domain)
    for nuts2, count, weights in sorted(ITALIAN_REGIONS, key=lambda r: r[0] == HOME_REGION):
        strong = {d for c in weights for d in CITIES[c][4]}
        for _ in range(count):
            available = [d for d in quota if quota[d] and (nuts2 == HOME_REGION or d in strong)]
            primary = rng.choices(available, weights=[quota[d] for d in available])[0]
            quota[primary] -= 1
            slots.append((nuts2, weights, primary))

    drafts = []  # (name, country, nuts2, street, postcode, city, domains, kind, office)
    used_names: set[str] = set()
    for (nuts2, weights, primary), kind in zip(slots, kinds, strict=True):
        fitting = {c: w for c, w in weights.items() if primary in CITIES[c][4]}
        city = _weighted(rng, fitting)
        _, office, streets, places, _ = CITIES[city]
        words = SECTORS[primary][0]
        if kind == OrganisationKind.LARGE_COMPANY:
            words = [w for w in words if "Lab" not in w]
        while True:
            if rng.random() < 0.25:
                stem = f"{rng.choice(COINED_NAMES)} {rng.choice(words)}"
            else:
                stem = f"{rng.choice(places)} {rng.choice(words)}"
            if stem not in used_names:
                used_names.add(stem)
                break
        street, postcode = rng.choice(streets)
        domains = [primary]
        if rng.random() < 0.45:
            domains.append(rng.choice(RELATED[primary]))
        drafts.append((stem, "IT", nuts2, f"{street} {rng.randint(1, 180)}", postcode, city, domains, kind, office))
    for name, country, nuts2, street, postcode, city, domains, kind in FOREIGN_COMPANIES:
        drafts.append((name, country, nuts2, street, postcode, city, list(domains), kind, None))
    rng.shuffle(drafts)

    companies: list[Organisation] = []
    countries: list[str] = []
    for name, country, nuts2, address, postcode, city, domains, kind, office in drafts:
        startup = kind == OrganisationKind.STARTUP
        if kind == OrganisationKind.LARGE_COMPANY:
            size = SizeClass.LARGE
            age_days = rng.randint(20 * 365, 80 * 365)
        elif startup:
            size = SizeClass.MICRO if rng.random() < 0.7 else SizeClass.SMALL
            age_days = rng.randint(365, 5 * 365 - 1)
        else:
            size = rng.choices([SizeClass.MICRO, SizeClass.SMALL, SizeClass.MEDIUM], weights=[25, 45, 30])[0]
            # Digital and life-science firms are younger than mills and machine makers.
            oldest = 30 if domains[0] in YOUNG_DOMAINS else 60
            age_days = rng.randint(6 * 365, oldest * 365)
        headcount, turnover, balance = size_figures(rng, size, startup)
        if country == "IT":
            # Joint-stock companies are the larger ones; most firms are limited-liability.
            share_company = 0.0 if startup else {SizeClass.LARGE: 1.0, SizeClass.MEDIUM: 0.6,
                                                 SizeClass.SMALL: 0.15}.get(size, 0.0)
            name = f"{name} {'S.p.A.' if rng.random() < share_company else 'S.r.l.'}"
        words, naces, offers = SECTORS[domains[0]]
        closer = rng.choice(STARTUP_CLOSERS if startup else SME_CLOSERS).format(
            pct=rng.randint(15, 70), n=rng.randint(20, 300), r=rng.randint(3, 25))
        org = Organisation(
            kind=str(kind), legal_name=name, vat_number=vats.new(country, office), country=country,
            nuts2_region=nuts2, address=address, city=city, postcode=postcode, website=_website(name),
            founding_date=AS_OF - timedelta(days=age_days), nace_code=rng.choice(naces),
            description=f"{rng.choice(offers)} {closer}", staff_headcount=headcount, annual_turnover=turnover,
            balance_sheet_total=balance, public_control=False, created_at=CREATED_AT,
        )
        org.s3_domains = [s3[c] for c in domains]
        companies.append(org)
        countries.append(country)
    return companies, countries


def _ownership_links(rng: random.Random, companies: list[Organisation], vats: VatNumbers) -> dict[int, list]:
    """A few partner and linked enterprises, so the size class is more than the company's own figures."""

    def pick(kinds, low, high):
        candidates = [o for o in companies if o.kind in kinds and o.country == "IT" and id(o) not in links
                      and low <= o.staff_headcount < high]
        return rng.choice(candidates)

    links: dict[int, list[OwnershipLink]] = {}

    def add(org, **fields):
        link = OwnershipLink(**fields)
        org.ownership_links.append(link)
        links.setdefault(id(org), []).append(link)

    # Linked (60% held by a holding): a small company becomes medium.
    org = pick({OrganisationKind.SME}, 10, 50)
    add(org, enterprise_name="Finanziaria Astigiana S.p.A.", enterprise_vat=vats.new("IT", "005"),
        direction="holds", share_percent=Decimal("60.00"), staff_headcount=Decimal("180.00"),
        annual_turnover=Decimal("31500000.00"), balance_sheet_total=Decimal("24200000.00"))
    # Partner (30% held by an industrial partner): a micro company becomes small.
    org = pick({OrganisationKind.SME, OrganisationKind.STARTUP}, 3, 10)
    add(org, enterprise_name="Alpi Partecipazioni Industriali S.r.l.", enterprise_vat=vats.new("IT", "004"),
        direction="holds", share_percent=Decimal("30.00"), staff_headcount=Decimal("40.00"),
        annual_turnover=Decimal("5200000.00"), balance_sheet_total=Decimal("3900000.00"))
    # Partner held by us (40% of a service company): counted pro rata.
    org = pick({OrganisationKind.SME}, 10, 50)
    add(org, enterprise_name="Servizi Tecnici Valsesia S.r.l.", enterprise_vat=vats.new("IT", "002"),
        direction="held", share_percent=Decimal("40.00"), staff_headcount=Decimal("12.00"),
        annual_turnover=Decimal("1800000.00"), balance_sheet_total=Decimal("1100000.00"))
    # Under 25% (a business-angel vehicle with 15%): autonomous, not counted.
    org = pick({OrganisationKind.STARTUP}, 1, 10)
    add(org, enterprise_name="Angeli Subalpini Holding S.r.l.", enterprise_vat=vats.new("IT", "001"),
        direction="holds", share_percent=Decimal("15.00"), staff_headcount=Decimal("0.00"),
        annual_turnover=Decimal("0.00"), balance_sheet_total=Decimal("2500000.00"))
    return links


def _buyers(rng: random.Random, s3: dict[str, S3Domain], vats: VatNumbers) -> list[Organisation]:
    buyers = []
    for name, kind, country, nuts2, street, postcode, city, nace, domains, needs in BUYERS:
        public = kind == OrganisationKind.PUBLIC_BUYER
        office = CITIES[city][1] if country == "IT" else None
        staff = BUYER_STAFF[name]
        headcount = _headcount(rng, staff * 0.9, staff * 1.1)
        # Turnover per head: a public body's yearly budget is lower than an industrial group's sales.
        per_head = rng.randint(90_000, 160_000) if public else rng.randint(200_000, 450_000)
        turnover = _money(rng, float(headcount) * per_head * 0.98, float(headcount) * per_head)
        balance = _money(rng, float(turnover) * 0.6, float(turnover) * 1.2)
        org = Organisation(
            kind=str(kind), legal_name=name, vat_number=vats.new(country, office), country=country,
            nuts2_region=nuts2, address=street, city=city, postcode=postcode, website=_website(name),
            founding_date=None if public else AS_OF - timedelta(days=rng.randint(30 * 365, 110 * 365)),
            nace_code=nace, description=needs, staff_headcount=headcount,
            annual_turnover=turnover, balance_sheet_total=balance, public_control=public,
            created_at=CREATED_AT,
        )
        org.size_class = compute_size_class(org, [])
        org.s3_domains = [s3[c] for c in domains]
        buyers.append(org)
    return buyers


def _accounts(rng, companies, company_country, buyers, hubs, investors, universities):
    """The accounts of CONTRACTS.md; one password hash shared by all (argon2 is slow on purpose)."""
    from opsapp.demo import PASSWORD

    password_hash = hash_password(PASSWORD)
    people = People(rng, taken=[p[1] for p in FIXED_PEOPLE])
    users: dict[str, User] = {}
    memberships: list[Membership] = []

    def user(local: str, full_name: str, role: Role, locale: str, timezone: str) -> User:
        account = User(
            email=f"{local}@{EMAIL_DOMAIN}", full_name=full_name, password_hash=password_hash,
            locale=locale, timezone=timezone, created_at=CREATED_AT, email_confirmed_at=CREATED_AT,
            password_changed_at=CREATED_AT,
        )
        account.set_roles([role])
        users[account.email] = account
        return account

    def member(account: User, org: Organisation, role: MembershipRole, position: str) -> None:
        memberships.append(Membership(user=account, organisation=org, role=str(role), position=position))

    fixed = {local: user(local, name, role, locale, tz) for local, name, role, locale, tz in FIXED_PEOPLE}
    member(fixed["staff"], hubs[0], MembershipRole.MEMBER, "Programme officer")
    # Evaluators from the universities: conflicts of interest with their spin-offs come later.
    member(fixed["evaluator1"], universities[0], MembershipRole.MEMBER, "Associate professor of mechanical engineering")
    member(fixed["evaluator2"], universities[1], MembershipRole.MEMBER, "Head of the technology transfer office")
    member(fixed["mentor1"], investors[0], MembershipRole.MEMBER, "Investment partner")

    for n, (org, country) in enumerate(zip(companies, company_country, strict=True), start=1):
        italian = country == "IT"
        account = user(f"applicant{n}", people.new(country), Role.APPLICANT,
                       "it" if italian and rng.random() < 0.25 else "en", TIMEZONES[country])
        positions = FOUNDER_POSITIONS if org.kind == OrganisationKind.STARTUP else SME_POSITIONS
        member(account, org, MembershipRole.OWNER, rng.choice(positions))

    for n, org in enumerate(buyers, start=1):
        italian = org.country == "IT"
        account = user(f"buyer{n}", people.new(org.country), Role.BUYER,
                       "it" if italian and rng.random() < 0.25 else "en", TIMEZONES[org.country])
        member(account, org, MembershipRole.OWNER, rng.choice(BUYER_POSITIONS))
    return users, memberships
