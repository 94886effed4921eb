"""The languages a listing may name: ISO 639 codes (what is stored) and their names.

A short, maintained list of the languages US clinics list, in the order the
listing form offers them (by name). `Clinic.languages` stores the codes, so a
language added here needs no migration; one removed stays on old listings
(shown as its code) until their next edit, whose form no longer offers it.
Three-letter codes are ISO 639-3 (no two-letter one exists), plus "asl".
"""

from __future__ import annotations

LANGUAGE_NAMES: dict[str, str] = {
    "asl": "American Sign Language",
    "am": "Amharic",
    "ar": "Arabic",
    "hy": "Armenian",
    "bn": "Bengali",
    "zh": "Chinese",
    "nl": "Dutch",
    "en": "English",
    "fr": "French",
    "de": "German",
    "el": "Greek",
    "gu": "Gujarati",
    "ht": "Haitian Creole",
    "he": "Hebrew",
    "hi": "Hindi",
    "hmn": "Hmong",
    "it": "Italian",
    "ja": "Japanese",
    "km": "Khmer",
    "ko": "Korean",
    "nv": "Navajo",
    "fa": "Persian",
    "pl": "Polish",
    "pt": "Portuguese",
    "pa": "Punjabi",
    "ro": "Romanian",
    "ru": "Russian",
    "so": "Somali",
    "es": "Spanish",
    "tl": "Tagalog",
    "th": "Thai",
    "tr": "Turkish",
    "uk": "Ukrainian",
    "ur": "Urdu",
    "vi": "Vietnamese",
    "yi": "Yiddish",
}
