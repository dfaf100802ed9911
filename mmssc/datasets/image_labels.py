"""Image-level labels: class lists, label files (CSV / JSON) and labels derived from masks.

Formats accepted (docs/data.md, "Your own data", shows examples):

* class list: a sequence of names, or a text file with one name per line (blank lines and ``#`` lines ignored);
  a relative path is under the dataset's ``data_root``.
* CSV label file, either
  - *list form*: a header ``image,labels`` and one row per image, class names separated by ``;`` or ``|``
    (names may contain spaces, e.g. COCO's "traffic light"), or
  - *multi-hot form*: a header ``image,<class 1>,<class 2>,...`` and 0/1 per class.
* JSON label file: ``{"<image id>": ["cat", "dog"], ...}`` or ``[{"image": "<id>", "labels": [...]}, ...]``.
  Labels are class names or 0-based class indices.
* Masks: a class-index PNG per image with 0 = background, ``k`` = class ``k - 1`` of the list, 255 = ignore
  (VOC's convention, also used for COCO and users' data).
* VOC XML annotations (``Annotations/<id>.xml``): the classes named by the file's ``<name>`` elements, as the
  official VOC classification labels are made.

Image ids are file stems (``2007_000032``); a label-file entry ``2007_000032.jpg`` names the same image.
Every problem raises one ``ValueError``/``FileNotFoundError`` naming the file, the image and the class.
"""
import csv
import json
import os.path as osp
import re
import xml.etree.ElementTree as ET
from typing import Dict, List, Mapping, Sequence, Union

import numpy as np

from ..fileio import read_label_png

_LABEL_SEPARATORS = re.compile(r'[;|]')
_IMAGE_COLUMNS = ('image', 'image_id', 'id', 'filename', 'file', 'img')


def load_class_names(classes: Union[str, Sequence[str]], data_root: str = '') -> tuple:
    """Return the class names as a tuple, reading a one-name-per-line file when given a path.

    A relative path is under ``data_root`` (mmengine's rule for ``ann_file``), so moving the data moves it too.
    """
    if isinstance(classes, str):
        if data_root and not osp.isabs(classes):
            classes = osp.join(data_root, classes)
        if not osp.isfile(classes):
            raise FileNotFoundError(f'class list file not found: {classes}')
        with open(classes, encoding='utf-8') as f:
            names = [ln.strip() for ln in f if ln.strip() and not ln.lstrip().startswith('#')]
        source = classes
    else:
        names, source = [str(c) for c in classes], 'classes'
    if not names:
        raise ValueError(f'{source}: the class list is empty')
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f'{source}: duplicate class names {duplicates}')
    return tuple(names)


def image_id_of(name: str) -> str:
    """The id of an image named by a path or a file name: its stem."""
    return osp.splitext(osp.basename(str(name).strip()))[0]


def _class_index(label, class_names: Sequence[str], image_id: str, source: str) -> int:
    if isinstance(label, (int, np.integer)) and not isinstance(label, bool):
        if 0 <= label < len(class_names):
            return int(label)
        raise ValueError(f'{source}: image {image_id!r} has class index {label}, outside 0..{len(class_names) - 1}')
    name = str(label).strip()
    try:
        return class_names.index(name)
    except ValueError:
        raise ValueError(f'{source}: image {image_id!r} is labelled with unknown class {name!r}; '
                         f'known classes: {", ".join(class_names)}') from None


def _read_csv(path: str) -> Dict[str, list]:
    with open(path, newline='', encoding='utf-8') as f:
        rows = [r for r in csv.reader(f) if r and any(c.strip() for c in r)]
    if not rows:
        raise ValueError(f'label file {path} is empty')
    header = [c.strip() for c in rows[0]]
    if header[0].lower() not in _IMAGE_COLUMNS:
        raise ValueError(f'label file {path}: the first header column must name the image '
                         f'(one of {_IMAGE_COLUMNS}), got {header[0]!r}')
    labels = {}
    multi_hot = not (len(header) == 2 and header[1].lower() == 'labels')
    for line, row in enumerate(rows[1:], start=2):
        image = image_id_of(row[0])
        if multi_hot:
            if len(row) != len(header):
                raise ValueError(f'label file {path}, line {line}: {len(row)} columns, header has {len(header)}')
            try:
                flags = [int(float(v)) for v in row[1:]]
            except ValueError:
                raise ValueError(f'label file {path}, line {line}: multi-hot values must be 0 or 1') from None
            labels[image] = [name for name, flag in zip(header[1:], flags) if flag]
        else:
            field = row[1] if len(row) > 1 else ''
            labels[image] = [s.strip() for s in _LABEL_SEPARATORS.split(field) if s.strip()]
    return labels


def _read_json(path: str) -> Dict[str, list]:
    try:
        with open(path, encoding='utf-8') as f:
            content = json.load(f)
    except json.JSONDecodeError as exc:
        raise ValueError(f'label file {path} is not valid JSON: {exc}') from exc
    if isinstance(content, Mapping):
        return {image_id_of(k): list(v) for k, v in content.items()}
    if isinstance(content, list):
        try:
            return {image_id_of(e['image']): list(e['labels']) for e in content}
        except (KeyError, TypeError):
            raise ValueError(f'label file {path}: a list must hold {{"image": ..., "labels": [...]}} '
                             'objects') from None
    raise ValueError(f'label file {path}: expected a JSON object or list')


def read_label_file(path: str, class_names: Sequence[str]) -> Dict[str, List[int]]:
    """Read a CSV or JSON image-label file into ``{image id: sorted class indices}`` (validated)."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'image-label file not found: {path}')
    raw = _read_json(path) if path.lower().endswith('.json') else _read_csv(path)
    class_names = list(class_names)
    return {image: sorted({_class_index(lb, class_names, image, path) for lb in names})
            for image, names in raw.items()}


def labels_from_mask(mask: np.ndarray, num_classes: int, mask_path: str) -> List[int]:
    """Class indices present in a mask (0 = background, k = class k-1, 255 = ignore)."""
    values = np.unique(mask)
    values = values[(values != 0) & (values != 255)]
    if values.size and values.max() > num_classes:
        raise ValueError(f'mask {mask_path} holds value {int(values.max())}, but only {num_classes} classes '
                         f'are defined (values 1..{num_classes}, 0 = background, 255 = ignore)')
    return [int(v) - 1 for v in values]


def read_mask_labels(mask_path: str, num_classes: int) -> List[int]:
    return labels_from_mask(read_label_png(mask_path, 'mask'), num_classes, mask_path)


def read_xml_labels(xml_path: str, class_names: Sequence[str]) -> List[int]:
    """Sorted class indices named in a VOC XML annotation file.

    Every element called ``name`` anywhere in the file counts, as in the official label maker (IRN's
    ``load_image_label_from_xml``): object names, but also the part names inside person objects (``head``,
    ``hand``, ``foot``), which are skipped because they are not class names. Difficult and truncated objects
    count like any other (there is no filter on ``<difficult>``). Surrounding whitespace is ignored.
    """
    try:
        root = ET.parse(xml_path).getroot()
    except ET.ParseError as exc:
        raise ValueError(f'cannot parse XML annotation {xml_path}: {exc}') from exc
    index_of = {name: k for k, name in enumerate(class_names)}
    found = {index_of.get((elem.text or '').strip()) for elem in root.iter('name')}
    return sorted(found - {None})


def multi_hot(indices: Sequence[int], num_classes: int) -> np.ndarray:
    vec = np.zeros(num_classes, np.float32)
    vec[list(indices)] = 1.0
    return vec
