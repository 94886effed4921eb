"""The words of the guides, kept as data so views stay thin and editors can review text alone.

Written for patients who may be unwell, tired or reading on a phone: short sentences,
no jargon without an explanation, and every factual claim attributed to a named,
checkable source in the sentence that makes it. Nothing here states a statistic that
a source does not; figures about this directory (prices, counts) are computed live
by `prices.py` and `counts.py` and worded in the templates.

Strings are plain text (Jinja escapes them); structure comes from the dataclasses.
Display names of treatments and conditions come from the database vocabularies, so
an editor's rename shows up here too; `name` below is only a fallback.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

LAST_REVIEWED = date(2026, 11, 25)

# Shown near the top of every guide: the first part in bold, then the second.
NOT_ADVICE = "General information, not medical advice."
NOT_ADVICE_MORE = (
    "Talk to a licensed clinician about your own situation before starting or changing any "
    "treatment."
)


@dataclass(frozen=True)
class Section:
    """One titled part of a guide: paragraphs, then an optional bulleted list.

    `search` names a filter of the clinic search ({"payment": "superbill"}) that the
    section links to, labelled `search_label`; the template skips it if the code is no
    longer in the vocabulary, so a renamed or removed option never links to an error.
    `see_also` links other guides: "paying", "modality:<code>" or "condition:<code>".
    """

    id: str
    heading: str
    paragraphs: tuple[str, ...] = ()
    bullets: tuple[str, ...] = ()
    search: dict[str, str] = field(default_factory=dict)
    search_label: str = ""
    see_also: tuple[str, ...] = ()


@dataclass(frozen=True)
class ModalityGuide:
    """A treatment guide. The live "What it costs" part sits between `before_cost`
    and `after_cost`, followed by `cost_notes`."""

    code: str
    name: str
    summary: str
    before_cost: tuple[Section, ...]
    cost_notes: tuple[str, ...]
    after_cost: tuple[Section, ...]
    sources: tuple[str, ...]


@dataclass(frozen=True)
class ConditionGuide:
    """A condition guide. `crisis_first` puts the 988 crisis line above everything else."""

    code: str
    name: str
    summary: str
    sections: tuple[Section, ...]
    sources: tuple[str, ...]
    crisis_first: bool = False
    extra_help: tuple[str, ...] = ()


@dataclass(frozen=True)
class PayingGuide:
    """The guide to paying for treatment."""

    title: str
    summary: str
    sections: tuple[Section, ...]
    sources: tuple[str, ...]


# Source names, written once so every page cites them the same way.
SANACORA = (
    "American Psychiatric Association Council of Research Task Force: “A Consensus Statement "
    "on the Use of Ketamine in the Treatment of Mood Disorders” (Sanacora et al., "
    "JAMA Psychiatry, 2017)"
)
SPRAVATO_LABEL = (
    "FDA prescribing information (label) for Spravato (esketamine) nasal spray, first "
    "approved 2019, updated 2020 and 2025"
)
SPRAVATO_REMS = (
    "Spravato REMS (Risk Evaluation and Mitigation Strategy) program, required by the FDA"
)
KETALAR_LABEL = "FDA prescribing information (label) for Ketalar (ketamine hydrochloride injection)"
FDA_COMPOUNDED = (
    "FDA warning to patients and health care providers about compounded ketamine products, "
    "including oral forms, for psychiatric disorders (October 2023)"
)
DEA_SCHEDULES = "Drug Enforcement Administration (DEA) controlled substance schedules"
VA_DOD_MDD = (
    "VA/DoD Clinical Practice Guideline for the Management of Major Depressive Disorder (2022)"
)
VA_DOD_PTSD = (
    "VA/DoD Clinical Practice Guideline for the Management of Posttraumatic Stress Disorder "
    "and Acute Stress Disorder (2023)"
)
ELEKT_D = (
    "“Ketamine versus ECT for Nonpsychotic Treatment-Resistant Major Depression”, the "
    "ELEKT-D trial (Anand et al., New England Journal of Medicine, 2023)"
)
COHEN_PAIN = (
    "Consensus guidelines on the use of intravenous ketamine infusions for chronic pain from "
    "the American Society of Regional Anesthesia and Pain Medicine, the American Academy of "
    "Pain Medicine and the American Society of Anesthesiologists (Cohen et al., Regional "
    "Anesthesia and Pain Medicine, 2018)"
)
FEDER_PTSD = (
    "“A Randomized Controlled Trial of Repeated Ketamine Administration for Chronic "
    "Posttraumatic Stress Disorder” (Feder et al., American Journal of Psychiatry, 2021)"
)
ABDALLAH_PTSD = (
    "“Ketamine treatment for PTSD in veterans: a randomized trial” "
    "(Abdallah et al., Neuropsychopharmacology, 2022)"
)
RODRIGUEZ_OCD = (
    "“Randomized Controlled Crossover Trial of Ketamine in Obsessive-Compulsive Disorder: "
    "Proof-of-Concept” (Rodriguez et al., Neuropsychopharmacology, 2013)"
)
APA_OCD = (
    "American Psychiatric Association Practice Guideline for the Treatment of Patients With "
    "Obsessive-Compulsive Disorder (2007)"
)
NICE_ANXIETY = (
    "NICE guideline CG113: Generalised anxiety disorder and panic disorder in adults (2011)"
)
FDA_PPD = (
    "FDA approvals of Zulresso (brexanolone, 2019) and Zurzuvae (zuranolone, 2023) "
    "for postpartum depression"
)
HRSA_HOTLINE = (
    "National Maternal Mental Health Hotline, run by the Health Resources and Services "
    "Administration (HRSA)"
)
LIFELINE = "988 Suicide & Crisis Lifeline"
IRS_502 = "IRS Publication 502, Medical and Dental Expenses"
IRS_969 = "IRS Publication 969, Health Savings Accounts and Other Tax-Favored Health Plans"
NO_SURPRISES = (
    "No Surprises Act rules on Good Faith Estimates for uninsured and self-pay patients, "
    "Centers for Medicare & Medicaid Services (in force since January 2022)"
)
ACA_APPEALS = "Affordable Care Act rules on internal appeals and external review (HealthCare.gov)"
CFPB_MEDICAL_CREDIT = (
    "Consumer Financial Protection Bureau report on medical credit cards and financing plans (2023)"
)
SAMHSA_HELPLINE = (
    "SAMHSA National Helpline (Substance Abuse and Mental Health Services Administration)"
)

OFF_LABEL_SELF_PAY = Section(
    id="insurance",
    heading="How insurance usually treats it",
    paragraphs=(
        "Ketamine is FDA-approved as an anesthetic (the FDA label for Ketalar). Using it for "
        "depression, PTSD, anxiety or chronic pain is “off-label”: legal for a doctor to "
        "prescribe, but not an approved use. Because of that, most clinics ask patients to "
        "pay for ketamine sessions themselves.",
        "Some health plans pay for parts of your care, such as the first psychiatric "
        "evaluation, even when they do not pay for the ketamine itself. If the clinic is out "
        "of network, ask for a superbill (an itemized receipt you send to your insurer) and "
        "ask your insurer what it reimburses before you start.",
    ),
    see_also=("paying",),
)

SCREENING = Section(
    id="safety",
    heading="Safety and questions to ask",
    paragraphs=(
        "The American Psychiatric Association consensus statement (Sanacora et al., 2017) "
        "describes checks before treatment, including blood pressure and heart health, any "
        "history of psychosis, and alcohol or drug use. Tell the clinic about all of these, "
        "and about every medicine you take.",
        "Ketamine is a Schedule III controlled substance (DEA) and can be misused. A careful "
        "clinic will talk with you about this.",
    ),
    bullets=(
        "Who oversees my treatment, and what training do they have?",
        "How will you check my blood pressure and breathing during and after a session?",
        "How will we know if it is working, and what happens if it is not?",
        "Will you share updates with my psychiatrist, therapist or family doctor?",
        "What should I do if I feel unwell after I get home?",
    ),
)

MODALITY_GUIDES: dict[str, ModalityGuide] = {
    "iv": ModalityGuide(
        code="iv",
        name="IV infusion",
        summary=(
            "How IV ketamine infusions are given, what a typical course looks like, what "
            "clinics in this directory charge per session, and how insurance usually "
            "treats them."
        ),
        before_cost=(
            Section(
                id="how",
                heading="How it is given",
                paragraphs=(
                    "A nurse or doctor places a small tube in a vein in your arm, and ketamine "
                    "runs in slowly through a drip while you sit or lie back. Staff watch your "
                    "blood pressure, heart rate and breathing during the infusion and until "
                    "you are ready to leave.",
                    "The dose most studied for depression, described in the American "
                    "Psychiatric Association consensus statement on ketamine (Sanacora et al., "
                    "JAMA Psychiatry 2017), is given over about 40 minutes. Many clinics plan "
                    "40 to 60 minutes, plus time to recover.",
                    "During an infusion many people feel detached, dreamlike or unusually "
                    "aware of sounds and colors. These effects usually fade after the "
                    "infusion ends. You should not drive for the rest of the day, so plan a "
                    "ride home.",
                ),
            ),
            Section(
                id="course",
                heading="A typical course of treatment",
                paragraphs=(
                    "Many clinics start with a series, often six infusions over two to three "
                    "weeks. This schedule comes from research studies, not from an "
                    "FDA-approved plan, because ketamine is not FDA-approved for depression.",
                    "After the first series, some people come back for occasional “booster” "
                    "infusions. The APA consensus statement notes that evidence about how well "
                    "and how safely ketamine works over months or years is limited, so ask "
                    "how the clinic decides whether and when to continue.",
                    "Infusions for chronic pain often follow different, longer plans.",
                ),
                see_also=("condition:chronic-pain", "condition:crps"),
            ),
        ),
        cost_notes=(
            "Prices are per session and come from each clinic. Many clinics also sell the "
            "first series as a package at a lower total. Ask what the price includes (for "
            "example the first consultation and follow-up visits) and what happens if you "
            "stop early.",
        ),
        after_cost=(OFF_LABEL_SELF_PAY, SCREENING),
        sources=(SANACORA, KETALAR_LABEL, DEA_SCHEDULES),
    ),
    "im": ModalityGuide(
        code="im",
        name="IM injection",
        summary=(
            "How intramuscular (IM) ketamine injections are given, what a course may look "
            "like, what clinics in this directory charge per session, and how insurance "
            "usually treats them."
        ),
        before_cost=(
            Section(
                id="how",
                heading="How it is given",
                paragraphs=(
                    "Ketamine is injected into a muscle, usually in the upper arm or "
                    "shoulder. There is no drip. You then rest in a quiet, monitored room "
                    "while the effects come and go, and staff check on you until you are "
                    "ready to leave. Visits are usually shorter than an IV infusion.",
                    "Injection into a muscle is one of the routes in the FDA label for "
                    "Ketalar (ketamine), which is approved as an anesthetic. Because the "
                    "whole dose is given at once, it cannot be slowed part-way the way a drip "
                    "can. Ask the clinic how it chooses your dose.",
                    "As with an infusion, you should not drive for the rest of the day, so "
                    "plan a ride home.",
                ),
            ),
            Section(
                id="course",
                heading="A typical course of treatment",
                paragraphs=(
                    "There is no standard schedule for IM ketamine. Many clinics use a series "
                    "similar to IV treatment, such as several sessions over a few weeks. Ask "
                    "the clinic what it recommends and why.",
                    "Most research on ketamine for depression, including the studies behind "
                    "the American Psychiatric Association consensus statement (Sanacora et "
                    "al., JAMA Psychiatry 2017), used IV infusions. Fewer studies have looked "
                    "at injections.",
                ),
            ),
        ),
        cost_notes=(
            "Prices are per session and come from each clinic. Ask whether the price "
            "includes the consultation and follow-up visits, and whether there is a package "
            "price for a series.",
        ),
        after_cost=(OFF_LABEL_SELF_PAY, SCREENING),
        sources=(KETALAR_LABEL, SANACORA, DEA_SCHEDULES),
    ),
    "spravato": ModalityGuide(
        code="spravato",
        name="Spravato (esketamine nasal spray)",
        summary=(
            "How Spravato (esketamine nasal spray) is given at certified centers, the "
            "treatment schedule on its FDA label, what clinics in this directory charge, and "
            "how insurance and prior authorization usually work."
        ),
        before_cost=(
            Section(
                id="what",
                heading="What Spravato is",
                paragraphs=(
                    "Spravato is esketamine, a form of ketamine, made as a nasal spray. The "
                    "FDA approved it in 2019 for treatment-resistant depression in adults, "
                    "together with an oral antidepressant; in 2020 for depressive symptoms in "
                    "adults with major depressive disorder who have acute suicidal thoughts "
                    "or actions, also with an oral antidepressant; and in 2025 for use on its "
                    "own in treatment-resistant depression (FDA label for Spravato).",
                    "Unlike IV, IM and at-home ketamine, it is FDA-approved for these uses, "
                    "which is one reason insurance is more likely to cover it.",
                ),
                see_also=(
                    "condition:treatment-resistant-depression",
                    "condition:suicidal-ideation",
                ),
            ),
            Section(
                id="how",
                heading="How it is given",
                paragraphs=(
                    "You spray Spravato into your nose yourself while a health care provider "
                    "watches, at a treatment center certified under the Spravato REMS "
                    "program, a safety program the FDA requires. It is never given to take "
                    "home.",
                    "After each dose you stay at least two hours so staff can watch for "
                    "sleepiness, feeling disconnected (dissociation) and changes in "
                    "breathing, and check your blood pressure (Spravato REMS; FDA label).",
                    "The label says not to drive or use machinery until the next day, after "
                    "a restful sleep, so you will need a ride home each time. It also asks "
                    "you not to eat for two hours before a dose or drink for 30 minutes "
                    "before, because some people feel sick.",
                ),
            ),
            Section(
                id="course",
                heading="A typical course of treatment",
                paragraphs=(
                    "The FDA label for treatment-resistant depression describes an induction "
                    "phase of two doses a week for weeks 1 to 4, then one dose a week for "
                    "weeks 5 to 8, and from week 9 one dose every week or every two weeks, "
                    "depending on how you are doing. Your prescriber decides the dose and "
                    "schedule.",
                    "That means about eight clinic visits in the first month, each lasting "
                    "at least two hours. Plan time off and transport before you start.",
                ),
            ),
        ),
        cost_notes=(
            "Many Spravato centers bill insurance instead of publishing a self-pay price, "
            "so the prices above come only from the listings that publish one.",
            "Ask whether a self-pay price covers the medicine, the monitored visit, or both. "
            "With insurance, the medicine and the visit can be billed separately, each with "
            "its own copay or coinsurance.",
        ),
        after_cost=(
            Section(
                id="insurance",
                heading="How insurance usually treats it",
                paragraphs=(
                    "Because Spravato is FDA-approved, many health plans cover it, usually "
                    "only after prior authorization: before treatment starts, your "
                    "prescriber sends the insurer your diagnosis and the antidepressants you "
                    "have already tried, and the insurer approves or denies it.",
                    "Ask the center whether it checks your benefits and handles the prior "
                    "authorization for you; many do. If it is denied, you can appeal; the "
                    "guide to paying for treatment explains how.",
                ),
                see_also=("paying",),
            ),
            Section(
                id="safety",
                heading="Safety and questions to ask",
                paragraphs=(
                    "The Spravato label carries a boxed warning, the FDA's strongest kind, "
                    "about risks including sedation, dissociation, slowed breathing, abuse "
                    "and misuse, and suicidal thoughts and behaviors. Esketamine is a "
                    "Schedule III controlled substance (DEA).",
                    "The label says Spravato is not recommended during pregnancy, and that "
                    "breastfeeding is not recommended during treatment. Tell the center if "
                    "you are pregnant, planning a pregnancy or breastfeeding.",
                ),
                bullets=(
                    "Is the center certified under the Spravato REMS?",
                    "Will you check my insurance and handle prior authorization?",
                    "What will I pay per visit, for the medicine and for the monitoring?",
                    "How will we decide whether to continue after the first month?",
                ),
            ),
        ),
        sources=(SPRAVATO_LABEL, SPRAVATO_REMS, DEA_SCHEDULES),
    ),
    "sublingual": ModalityGuide(
        code="sublingual",
        name="Sublingual / oral (at-home)",
        summary=(
            "How at-home sublingual and oral ketamine programs work, what the FDA has said "
            "about them, what programs in this directory charge, and why they are usually "
            "self-pay."
        ),
        before_cost=(
            Section(
                id="how",
                heading="How it is given",
                paragraphs=(
                    "Ketamine tablets or lozenges (sometimes called troches) dissolve under "
                    "your tongue or between your cheek and gum. They are usually made by a "
                    "compounding pharmacy and prescribed through a telehealth program, to "
                    "take at home with video check-ins.",
                    "No ketamine tablet or lozenge is FDA-approved for any mental health "
                    "condition. In October 2023 the FDA warned patients and clinicians about "
                    "compounded ketamine products, including oral forms, for psychiatric "
                    "disorders. It pointed out that taking them at home, without a health care "
                    "provider watching, adds risk.",
                ),
            ),
            Section(
                id="course",
                heading="A typical course of treatment",
                paragraphs=(
                    "Programs vary a lot. Many begin with a video assessment, then a set "
                    "number of at-home doses over several weeks, with check-ins between them. "
                    "Ask how many doses, how often, and what happens when the course ends.",
                    "Ketamine is a Schedule III controlled substance (DEA). Prescribing it "
                    "by telehealth without an in-person visit depends on federal telemedicine "
                    "rules that have changed several times since 2020, and the prescriber must "
                    "be licensed in your state. Ask the program how it meets the current "
                    "rules.",
                ),
            ),
        ),
        cost_notes=(
            "Prices are per dose or session as each program lists them. Many programs sell "
            "packages of several doses with check-ins; compare the total, and ask whether "
            "the medicine, shipping and follow-up visits are included.",
        ),
        after_cost=(
            Section(
                id="insurance",
                heading="How insurance usually treats it",
                paragraphs=(
                    "At-home ketamine programs are usually self-pay: the medicine is "
                    "compounded and used off-label, and insurance generally does not pay for "
                    "it. Some programs accept HSA or FSA cards, or give a superbill for the "
                    "assessment visit.",
                ),
                see_also=("paying",),
            ),
            Section(
                id="safety",
                heading="Safety and questions to ask",
                paragraphs=(
                    "The FDA's October 2023 warning lists known risks of ketamine, including "
                    "sedation, dissociation, higher blood pressure, slowed breathing, abuse "
                    "and misuse, and bladder and urinary problems. At home, nobody from the "
                    "clinic is in the room if something goes wrong.",
                ),
                bullets=(
                    "Do you require a trusted adult to be with me during each dose?",
                    "Who do I contact if I feel unwell during or after a dose, and when?",
                    "How do you check my blood pressure and how I am doing between doses?",
                    "Where is the medicine made, and how is it stored and shipped?",
                    "Is the prescriber licensed in my state?",
                ),
            ),
        ),
        sources=(FDA_COMPOUNDED, DEA_SCHEDULES),
    ),
}

WHAT_CLINICS_ASK = Section(
    id="questions",
    heading="Questions to ask a clinic",
    bullets=(
        "Have you treated people with my condition, and how do you measure progress?",
        "What should I try first, or alongside ketamine?",
        "Will you work with my current psychiatrist, therapist or doctor?",
        "What is the full cost of a course, and what does insurance cover?",
    ),
)

CONDITION_GUIDES: dict[str, ConditionGuide] = {
    "depression": ConditionGuide(
        code="depression",
        name="Depression",
        summary=(
            "What research and guidelines say about ketamine and Spravato for depression, "
            "which treatments clinics in this directory list for it, and questions to ask."
        ),
        sections=(
            Section(
                id="evidence",
                heading="What the evidence says",
                paragraphs=(
                    "In studies reviewed by the American Psychiatric Association consensus "
                    "statement (Sanacora et al., JAMA Psychiatry 2017), ketamine eased "
                    "depression quickly in some people, sometimes within hours or days. The "
                    "statement also notes that those studies were small and short, with "
                    "limited information on long-term benefit and safety.",
                    "Spravato (esketamine nasal spray) is FDA-approved for treatment-resistant "
                    "depression and for depressive symptoms with acute suicidal thoughts or "
                    "actions (FDA label for Spravato). IV, IM and at-home ketamine for "
                    "depression are off-label.",
                    "The VA/DoD depression guideline (2022) suggests ketamine or esketamine "
                    "as an option for people whose depression has not improved after several "
                    "adequate trials of medicine, not as a first treatment.",
                ),
                see_also=(
                    "modality:spravato",
                    "modality:iv",
                    "condition:treatment-resistant-depression",
                ),
            ),
            Section(
                id="other",
                heading="Other treatments to know about",
                paragraphs=(
                    "For most people, the first treatments for depression are talking "
                    "therapy or antidepressant medicine; the VA/DoD guideline (2022) "
                    "recommends either as a starting point. If you have not tried these yet, "
                    "a primary care doctor or psychiatrist can help you start.",
                ),
            ),
            WHAT_CLINICS_ASK,
        ),
        sources=(SANACORA, SPRAVATO_LABEL, VA_DOD_MDD),
    ),
    "treatment-resistant-depression": ConditionGuide(
        code="treatment-resistant-depression",
        name="Treatment-resistant depression",
        summary=(
            "What treatment-resistant depression means, what the FDA label for Spravato and "
            "trials of IV ketamine say, which treatments clinics here list for it, and what "
            "else to consider."
        ),
        sections=(
            Section(
                id="meaning",
                heading="What it means",
                paragraphs=(
                    "Treatment-resistant depression usually means depression that has not "
                    "improved enough after at least two antidepressants, each taken at a "
                    "proper dose for long enough. The clinical trials described in the FDA "
                    "label for Spravato studied adults in this situation.",
                ),
            ),
            Section(
                id="evidence",
                heading="What the evidence says",
                paragraphs=(
                    "Spravato is FDA-approved for treatment-resistant depression in adults: "
                    "since 2019 together with an oral antidepressant, and since 2025 on its "
                    "own (FDA label for Spravato).",
                    "IV ketamine is off-label. In a large trial of adults with "
                    "treatment-resistant depression without psychosis, IV ketamine was found "
                    "to be no worse than electroconvulsive therapy (ECT) at improving "
                    "depression (the ELEKT-D trial, Anand et al., New England Journal of "
                    "Medicine 2023).",
                    "The VA/DoD depression guideline (2022) suggests ketamine or esketamine "
                    "as an option for people whose depression has not improved after several "
                    "adequate trials of medicine. The APA consensus statement (Sanacora et "
                    "al., 2017) cautions that long-term data are limited.",
                ),
                see_also=("modality:spravato", "modality:iv"),
            ),
            Section(
                id="other",
                heading="Other treatments to know about",
                paragraphs=(
                    "Other options for depression that has not responded to medicines "
                    "include changing or combining medicines, psychotherapy, transcranial "
                    "magnetic stimulation (TMS) and ECT, all covered in the VA/DoD depression "
                    "guideline (2022). A psychiatrist can help you weigh them against "
                    "ketamine.",
                ),
            ),
            WHAT_CLINICS_ASK,
        ),
        sources=(SPRAVATO_LABEL, ELEKT_D, VA_DOD_MDD, SANACORA),
    ),
    "ptsd": ConditionGuide(
        code="ptsd",
        name="PTSD",
        summary=(
            "What trials and the VA/DoD PTSD guideline say about ketamine for PTSD, which "
            "treatments clinics in this directory list for it, and the treatments "
            "guidelines recommend first."
        ),
        sections=(
            Section(
                id="evidence",
                heading="What the evidence says",
                paragraphs=(
                    "Ketamine is not FDA-approved for PTSD, and PTSD is not among the uses on "
                    "the Spravato label.",
                    "Research results are mixed. A trial of repeated IV ketamine in mostly "
                    "civilian adults found larger improvements in PTSD symptoms than with a "
                    "comparison drug (Feder et al., American Journal of Psychiatry 2021). A "
                    "trial of repeated infusions in veterans did not find a significant "
                    "benefit over placebo (Abdallah et al., Neuropsychopharmacology 2022).",
                    "The VA/DoD PTSD guideline (2023) does not recommend ketamine as a PTSD "
                    "treatment.",
                ),
                see_also=("modality:iv",),
            ),
            Section(
                id="other",
                heading="Treatments guidelines recommend first",
                paragraphs=(
                    "The VA/DoD PTSD guideline (2023) recommends trauma-focused talking "
                    "therapies first: prolonged exposure, cognitive processing therapy or "
                    "EMDR (eye movement desensitization and reprocessing). Some people with "
                    "PTSD also have depression, which ketamine clinics may treat; ask the "
                    "clinic which of your symptoms it aims to help.",
                ),
            ),
            WHAT_CLINICS_ASK,
        ),
        sources=(VA_DOD_PTSD, FEDER_PTSD, ABDALLAH_PTSD, SPRAVATO_LABEL),
        extra_help=(
            "Veterans and service members can reach the Veterans Crisis Line by dialing 988 "
            "and pressing 1.",
        ),
    ),
    "anxiety": ConditionGuide(
        code="anxiety",
        name="Anxiety",
        summary=(
            "What is known about ketamine for anxiety, what the FDA has said, which "
            "treatments clinics in this directory list for it, and established treatments "
            "to consider."
        ),
        sections=(
            Section(
                id="evidence",
                heading="What the evidence says",
                paragraphs=(
                    "Ketamine is not FDA-approved for any anxiety disorder, and anxiety is "
                    "not among the uses on the Spravato label.",
                    "The American Psychiatric Association consensus statement (Sanacora et "
                    "al., 2017) mentions early reports of benefit in anxiety disorders, but "
                    "from small studies with little long-term information.",
                    "In October 2023 the FDA noted growing interest in compounded ketamine "
                    "for conditions including anxiety, and stressed that it has not approved "
                    "ketamine for any psychiatric disorder.",
                    "Some people find the dissociation during a session unsettling. Ask how "
                    "staff help if that happens.",
                ),
                see_also=("modality:sublingual",),
            ),
            Section(
                id="other",
                heading="Other treatments to know about",
                paragraphs=(
                    "Cognitive behavioral therapy and some antidepressant medicines are "
                    "established treatments for generalized anxiety disorder and panic "
                    "disorder (NICE guideline CG113).",
                ),
            ),
            WHAT_CLINICS_ASK,
        ),
        sources=(SANACORA, FDA_COMPOUNDED, SPRAVATO_LABEL, NICE_ANXIETY),
    ),
    "chronic-pain": ConditionGuide(
        code="chronic-pain",
        name="Chronic pain",
        summary=(
            "What pain-medicine guidelines say about ketamine infusions for chronic pain, "
            "which treatments clinics in this directory list for it, and questions to ask."
        ),
        sections=(
            Section(
                id="evidence",
                heading="What the evidence says",
                paragraphs=(
                    "Ketamine is FDA-approved as an anesthetic (FDA label for Ketalar); lower "
                    "doses for chronic pain are off-label.",
                    "Consensus guidelines from three pain and anesthesia societies (Cohen et "
                    "al., Regional Anesthesia and Pain Medicine 2018) found the strongest "
                    "evidence for complex regional pain syndrome (CRPS). For many other kinds "
                    "of chronic pain, including fibromyalgia, low-back pain, migraine and "
                    "mixed nerve pain, they found weak or no evidence, and apart from CRPS "
                    "no evidence of benefit lasting beyond the short term.",
                    "The same guidelines advise against ketamine for people with poorly "
                    "controlled heart disease, and against repeated infusions for people "
                    "with an active substance use problem.",
                ),
                see_also=("modality:iv", "condition:crps"),
            ),
            Section(
                id="course",
                heading="How pain treatment differs",
                paragraphs=(
                    "Infusion plans for pain vary widely. Some last several hours or are "
                    "repeated on several days in a row, so they can cost more than "
                    "infusions for depression. Ask the clinic for the full plan and total "
                    "cost.",
                    "A pain specialist can explain where ketamine fits alongside physical "
                    "therapy, psychological approaches to pain and other medicines.",
                ),
            ),
            WHAT_CLINICS_ASK,
        ),
        sources=(COHEN_PAIN, KETALAR_LABEL),
    ),
    "crps": ConditionGuide(
        code="crps",
        name="Complex regional pain syndrome (CRPS)",
        summary=(
            "What pain-medicine guidelines say about ketamine infusions for complex "
            "regional pain syndrome (CRPS), and which treatments clinics in this "
            "directory list for it."
        ),
        sections=(
            Section(
                id="evidence",
                heading="What the evidence says",
                paragraphs=(
                    "CRPS is the pain condition with the most research support for ketamine "
                    "infusions. Consensus guidelines from three pain and anesthesia societies "
                    "(Cohen et al., Regional Anesthesia and Pain Medicine 2018) found "
                    "moderate evidence that infusions improve CRPS pain for up to 12 weeks.",
                    "The studies behind that finding used long infusions repeated on several "
                    "days, for example four hours a day for ten days, which is very "
                    "different from a single 40-minute infusion. Evidence on benefit beyond "
                    "about three months is limited.",
                    "Using ketamine for CRPS is off-label: its FDA label (Ketalar) is for "
                    "anesthesia.",
                ),
                see_also=("modality:iv", "condition:chronic-pain"),
            ),
            Section(
                id="other",
                heading="Working with your pain team",
                paragraphs=(
                    "Ask whether the clinic will coordinate with your pain specialist and "
                    "physical therapist, and how it will measure whether your pain and "
                    "function improve.",
                ),
            ),
            WHAT_CLINICS_ASK,
        ),
        sources=(COHEN_PAIN, KETALAR_LABEL),
    ),
    "ocd": ConditionGuide(
        code="ocd",
        name="OCD",
        summary=(
            "What early research says about ketamine for obsessive-compulsive disorder "
            "(OCD), which treatments clinics in this directory list for it, and the "
            "established first treatments."
        ),
        sections=(
            Section(
                id="evidence",
                heading="What the evidence says",
                paragraphs=(
                    "Ketamine is not FDA-approved for OCD, and OCD is not among the uses on "
                    "the Spravato label.",
                    "Research is early. A small study (Rodriguez et al., "
                    "Neuropsychopharmacology 2013) found short-term improvement in some "
                    "participants after a single IV infusion; larger and longer studies are "
                    "needed.",
                    "In October 2023 the FDA noted growing interest in compounded ketamine "
                    "for conditions including OCD, and stressed that it has not approved "
                    "ketamine for any psychiatric disorder.",
                ),
                see_also=("modality:sublingual",),
            ),
            Section(
                id="other",
                heading="Established first treatments",
                paragraphs=(
                    "Exposure and response prevention (a kind of cognitive behavioral "
                    "therapy) and SSRI medicines are the established first treatments for "
                    "OCD, according to the American Psychiatric Association practice "
                    "guideline for OCD (2007).",
                ),
            ),
            WHAT_CLINICS_ASK,
        ),
        sources=(RODRIGUEZ_OCD, APA_OCD, FDA_COMPOUNDED, SPRAVATO_LABEL),
    ),
    "suicidal-ideation": ConditionGuide(
        code="suicidal-ideation",
        name="Suicidal ideation",
        summary=(
            "If you are thinking about suicide, call or text 988 now. What the FDA label for "
            "Spravato says about suicidal thoughts, and which clinics in this directory list "
            "them."
        ),
        crisis_first=True,
        sections=(
            Section(
                id="first",
                heading="Ketamine is not emergency care",
                paragraphs=(
                    "A clinic appointment days away is not a substitute for help now. You "
                    "can call or text 988 even if you are not in immediate danger, for "
                    "example to talk through what is happening (988 Suicide & Crisis "
                    "Lifeline).",
                    "If you contact a ketamine clinic, tell them about suicidal thoughts at "
                    "the start. A careful clinic will ask, and may suggest more urgent care "
                    "first.",
                ),
            ),
            Section(
                id="evidence",
                heading="What the evidence says",
                paragraphs=(
                    "In 2020 the FDA approved Spravato (esketamine nasal spray) for "
                    "depressive symptoms in adults with major depressive disorder who have "
                    "acute suicidal thoughts or actions, together with an oral "
                    "antidepressant.",
                    "The same label says Spravato has not been shown to prevent suicide or "
                    "to reduce suicidal thoughts or behavior, and that it does not replace "
                    "hospital care when that is needed, even if someone feels better after "
                    "the first dose (FDA label for Spravato).",
                    "IV, IM and at-home ketamine are not FDA-approved for suicidal thoughts.",
                ),
                see_also=("modality:spravato",),
            ),
            WHAT_CLINICS_ASK,
        ),
        sources=(LIFELINE, SPRAVATO_LABEL),
        extra_help=(
            "Veterans and service members can reach the Veterans Crisis Line by dialing 988 "
            "and pressing 1.",
        ),
    ),
    "bipolar-depression": ConditionGuide(
        code="bipolar-depression",
        name="Bipolar depression",
        summary=(
            "What is known about ketamine for depression in bipolar disorder, what to tell a "
            "clinic, and which treatments clinics in this directory list for it."
        ),
        sections=(
            Section(
                id="evidence",
                heading="What the evidence says",
                paragraphs=(
                    "Spravato is approved for major depressive disorder, not for depression "
                    "in bipolar disorder (FDA label for Spravato). IV, IM and at-home "
                    "ketamine for bipolar depression are off-label.",
                    "The American Psychiatric Association consensus statement on ketamine "
                    "for mood disorders (Sanacora et al., 2017) includes studies in bipolar "
                    "depression but describes the evidence overall as coming from small, "
                    "short studies.",
                ),
                see_also=("condition:depression",),
            ),
            Section(
                id="tell",
                heading="What to tell a clinic",
                paragraphs=(
                    "Tell the clinic about any history of mania, hypomania or psychosis, and "
                    "about the mood stabilizer or other medicines you take. Ask how they "
                    "will watch for changes in your mood during treatment, and whether they "
                    "will work with your psychiatrist. Ketamine is not a replacement for the "
                    "treatment your psychiatrist prescribes.",
                ),
            ),
            WHAT_CLINICS_ASK,
        ),
        sources=(SPRAVATO_LABEL, SANACORA),
    ),
    "postpartum-depression": ConditionGuide(
        code="postpartum-depression",
        name="Postpartum depression",
        summary=(
            "Help lines for new parents, the medicines FDA-approved for postpartum "
            "depression, what the Spravato label says about pregnancy and breastfeeding, "
            "and which clinics in this directory list it."
        ),
        sections=(
            Section(
                id="help",
                heading="Support for new and expecting parents",
                paragraphs=(
                    "The National Maternal Mental Health Hotline (HRSA) is free and "
                    "confidential, any time: call or text 1-833-852-6262 (1-833-TLC-MAMA). "
                    "If you have thoughts of harming yourself or your baby, call or text 988, "
                    "or call 911.",
                ),
            ),
            Section(
                id="evidence",
                heading="What the evidence says",
                paragraphs=(
                    "Two medicines have been FDA-approved specifically for postpartum depression: "
                    "Zulresso (brexanolone, 2019), given by IV over 60 hours in a medical "
                    "setting, and Zurzuvae (zuranolone, 2023), a pill taken for 14 days.",
                    "Ketamine and Spravato are not FDA-approved for postpartum depression. "
                    "The Spravato label says it is not recommended during pregnancy, and "
                    "that breastfeeding is not recommended during treatment.",
                    "If you are pregnant or breastfeeding, ask any clinic how it handles "
                    "that before you start, and talk with your obstetric or primary care "
                    "clinician.",
                ),
                see_also=("modality:spravato", "condition:depression"),
            ),
            WHAT_CLINICS_ASK,
        ),
        sources=(HRSA_HOTLINE, FDA_PPD, SPRAVATO_LABEL),
    ),
}

PAYING_GUIDE = PayingGuide(
    title="Paying for ketamine treatment",
    summary=(
        "Self-pay prices, Spravato coverage and prior authorization, superbills for "
        "out-of-network claims, HSA and FSA rules, financing and sliding-scale fees, "
        "explained plainly."
    ),
    sections=(
        Section(
            id="self-pay",
            heading="Paying yourself: know the total",
            paragraphs=(
                "IV, IM and at-home ketamine are off-label uses, so patients usually pay for "
                "them themselves. Prices in this directory are per session; a course usually "
                "has several sessions, plus a first consultation and follow-up visits.",
                "If you are uninsured or not using insurance, the No Surprises Act gives you "
                "the right to a written Good Faith Estimate of expected charges before your "
                "care. If the final bill is at least $400 more than the estimate, you can "
                "dispute it (Centers for Medicare & Medicaid Services).",
            ),
            bullets=(
                "What is the price per session, and is there a package price for a series?",
                "Is the first consultation included or charged separately?",
                "What happens to a prepaid package if I stop early?",
            ),
            search={"payment": "self-pay"},
            search_label="Clinics that list self-pay",
        ),
        Section(
            id="spravato",
            heading="Spravato: coverage and prior authorization",
            paragraphs=(
                "Spravato is FDA-approved, so many health plans cover it, usually only after "
                "prior authorization: your prescriber sends the insurer your diagnosis and the "
                "antidepressants you have tried, and waits for approval before treatment "
                "starts. Ask the center whether it handles this for you.",
                "If a claim or prior authorization is denied, you have the right to appeal. "
                "Under the Affordable Care Act most plans must also offer an external review "
                "by an independent reviewer if the internal appeal fails (HealthCare.gov).",
            ),
            search={"modality": "spravato"},
            search_label="Clinics offering Spravato",
            see_also=("modality:spravato",),
        ),
        Section(
            id="superbill",
            heading="Superbills for out-of-network reimbursement",
            paragraphs=(
                "A superbill is an itemized receipt with the diagnosis and procedure codes "
                "your insurer needs. You pay the clinic, then send the superbill to your "
                "insurer and ask for out-of-network reimbursement.",
                "Whether you get anything back depends on your plan. Some plans pay part of "
                "the evaluation or visit but not the ketamine itself. Call your insurer before "
                "you start and ask what it reimburses.",
            ),
            search={"payment": "superbill"},
            search_label="Clinics that provide superbills",
        ),
        Section(
            id="hsa-fsa",
            heading="HSA and FSA",
            paragraphs=(
                "IRS Publication 502 explains what counts as medical care: costs of "
                "diagnosing and treating a disease, and prescribed medicines. IRS "
                "Publication 969 explains how Health Savings Accounts (HSA) and Flexible "
                "Spending Arrangements (FSA) can pay for those costs.",
                "Treatment prescribed by a licensed clinician for a diagnosed condition "
                "generally counts, but your plan administrator decides each claim, and some "
                "ask for a letter of medical necessity. Keep your receipts.",
            ),
            search={"payment": "hsa-fsa"},
            search_label="Clinics that accept HSA or FSA",
        ),
        Section(
            id="financing",
            heading="Financing and payment plans: read the terms",
            paragraphs=(
                "Some clinics offer payment plans or medical credit cards. The Consumer "
                "Financial Protection Bureau (2023) has warned that deferred-interest medical "
                "credit cards can charge all the postponed interest if the balance is not "
                "paid in full by the end of the promotional period.",
            ),
            bullets=(
                "Is this a plan run by the clinic, or a loan or credit card from a lender?",
                "What is the interest rate after any promotional period?",
                "What is the total I will pay, and what if I stop treatment?",
            ),
            search={"payment": "financing"},
            search_label="Clinics with financing or payment plans",
        ),
        Section(
            id="sliding-scale",
            heading="Sliding-scale fees",
            paragraphs=(
                "Some clinics lower their price based on income. Ask what the reduced price "
                "is, who qualifies and what proof they need.",
                "If cost rules out private treatment, the free, confidential SAMHSA National "
                "Helpline (1-800-662-4357) can point you to lower-cost mental health and "
                "substance use services near you.",
            ),
            search={"payment": "sliding-scale"},
            search_label="Clinics with sliding-scale fees",
        ),
    ),
    sources=(
        NO_SURPRISES,
        ACA_APPEALS,
        IRS_502,
        IRS_969,
        CFPB_MEDICAL_CREDIT,
        SAMHSA_HELPLINE,
        SPRAVATO_LABEL,
    ),
)


def modality_guide(code: str) -> ModalityGuide | None:
    """The treatment guide for a modality code, or None when there is none."""
    return MODALITY_GUIDES.get(code)


def condition_guide(code: str) -> ConditionGuide | None:
    """The condition guide for a condition code, or None when there is none."""
    return CONDITION_GUIDES.get(code)
