"""'Save this query': name it and store its full specification for labelling."""
from __future__ import annotations

import hashlib

import streamlit as st

from components.plain import md_escape
from indexing.blobs import atomic_write
from indexing.labels import LabelError, LabelStore
from indexing.lab import Lab


def store_query_image(lab: Lab, data: bytes) -> str:
    """Keep an uploaded query image under the data dir so the saved query can be re-run exactly."""
    name = f"queries/{hashlib.sha256(data).hexdigest()[:24]}.img"
    path = lab.settings.data_dir / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        atomic_write(path, data)  # never a half-written image that later runs would reuse
    return name


def save_query_button(lab: Lab, spec: dict, default_name: str, key: str, image: bytes | None = None) -> None:
    """A popover that saves ``spec``; an uploaded query ``image`` is written under the data dir only on save."""
    with st.popover("Save query for labelling"):
        name = st.text_input("Name", default_name, key=f"{key}-name")
        if st.button("Save", key=f"{key}-save"):
            try:
                if image is not None:
                    spec = {**spec, "image_path": store_query_image(lab, image)}
                saved = LabelStore(lab.settings.data_dir).save_query(name, spec)
            except OSError as exc:
                st.error(md_escape(f"Could not keep the query image under the data directory: {exc.strerror}."))
            except LabelError as exc:
                st.error(md_escape(exc))
            else:
                st.success(f"Saved as {saved.qid}; judge it on the Label page.")
