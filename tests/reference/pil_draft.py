#!/usr/bin/python3
"""PIL's own fast JPEG path, as a reference for dpiqa's --preprocess fast.

usage: /usr/bin/python3 tests/reference/pil_draft.py OUT_DIR FILE...
For each FILE writes OUT_DIR/NAME.draft.rgb: Image.open, draft('RGB', (1024, 1024)) (libjpeg-turbo DCT scaling by
1/2, 1/4 or 1/8, the largest that keeps both sides >= 1024, twice the model input, as dpiqa's fast path), convert('RGB'), resize((512, 512), BILINEAR) of the box
the image covers at that scale (size / s; the decoded size is rounded up, its last pixel partly padding), as raw
RGB bytes; and OUT_DIR/draft.json mapping NAME to the size the draft decoded.
"""
import json
import os
import sys

from PIL import Image


def main():
    out, files = sys.argv[1], sys.argv[2:]
    os.makedirs(out, exist_ok=True)
    sizes = {}
    for path in files:
        name = os.path.basename(path)
        with Image.open(path) as im:
            width, height = im.size
            im.draft("RGB", (1024, 1024))
            sizes[name] = list(im.size)
            s = round(width / im.size[0])  # the draft's reduction: 1, 2, 4 or 8
            rgb = im.convert("RGB").resize((512, 512), Image.BILINEAR, box=(0, 0, width / s, height / s))
        with open(os.path.join(out, name + ".draft.rgb"), "wb") as f:
            f.write(rgb.tobytes())
    with open(os.path.join(out, "draft.json"), "w") as f:
        json.dump(sizes, f, indent=1)


if __name__ == "__main__":
    main()
