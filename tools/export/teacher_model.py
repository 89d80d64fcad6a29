"""The DP-IQA teacher (Fu et al., 2024) in plain PyTorch: no diffusers, transformers, einops or safetensors.

Written for this project from the architecture's facts (the official iqa_models/dpiqa.py of
https://github.com/RomGai/DP-IQA and the diffusers 0.24.0 modules it builds on: AutoencoderKL's encoder,
UNet2DConditionModel with the official subclass's forward, FullAdapter). Module and parameter names are the
official ones, so an official `<dataset>_model_{plcc,srcc}_best.pth` (model.state_dict()) loads strictly once the
keys of the modules the score does not use are dropped (UNUSED_PREFIXES). tools/export/teacher_reference.py and
tests/DpIqa.Tests/Models/TeacherParityTests.cs prove the equivalence against diffusers 0.24.0's own code.

What the model computes for an image x (RGB in [0,1], [N,3,H,W]; the official size is 512x512):
  latent  = mean of the VAE encoder's Gaussian * 0.18215     (the official code SAMPLES it: see forward())
  r1..r4  = FullAdapter(x)                                  (added to the four down blocks' outputs)
  ctx     = E + gamma * TextAdapter(E)                      (E: the class embeddings [M, text_dim])
  taps    = the four up blocks' outputs of the UNet at t = 1 with cross-attention context ctx
  score   = QFD(taps)                                       (the quality feature decoder)

The widths and depths come from a configuration (SD15: Stable Diffusion 1.5's; a local SD1.5 folder's
unet/config.json and vae/config.json with config_from()), so tests build a small model with the same key names.
"""
import json
import math
import os
import zlib

import torch
import torch.nn as nn
import torch.nn.functional as F

SD15 = {
    "unet": {
        "in_channels": 4,
        "block_out_channels": [320, 640, 1280, 1280],
        "layers_per_block": 2,
        "attention_head_dim": 8,  # diffusers' SD1.5 config: this is the number of HEADS (a legacy name)
        "cross_attention_dim": 768,
        "norm_num_groups": 32,
        "norm_eps": 1e-5,
        "flip_sin_to_cos": True,
        "freq_shift": 0,
    },
    "vae": {
        "in_channels": 3,
        "block_out_channels": [128, 256, 512, 512],
        "layers_per_block": 2,
        "latent_channels": 4,
        "norm_num_groups": 32,
        "scaling_factor": 0.18215,
    },
    # The official QualityFeatureDecoder's fixed sizes (conv 3x3 -> 512 per tap, 1x1 512->128->32->8 on a 64x64
    # map, fc 8*64*64 -> 512 -> 512 -> 1, SE reduction 16).
    "qfd": {"width": 512, "score_channels": [128, 32, 8], "map_size": 64, "fc_width": 512, "se_reduction": 16},
}

# The SD1.5 block layout, the only one the official code uses; config_from() refuses others.
SD15_DOWN_BLOCKS = ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"]
SD15_UP_BLOCKS = ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"]

# Official state_dict keys of modules that do not contribute to the score: the VAE decoder side, the UNet's
# noise head (the official forward computes and discards it), and the QFD's BatchNorm, dropout (no parameters),
# softmax (none) and distortion classifier, which the official forward never calls.
UNUSED_PREFIXES = ("vae.decoder.", "vae.post_quant_conv.", "unet.conv_norm_out.", "unet.conv_out.",
                   "QFD.bnc1.", "QFD.classifier_dist.")


def config_from(folder):
    """The teacher configuration of a local Stable Diffusion 1.5 folder (unet/config.json, vae/config.json)."""
    config = json.loads(json.dumps(SD15))
    for part in ("unet", "vae"):
        path = os.path.join(folder, part, "config.json")
        if not os.path.isfile(path):
            raise ValueError(f"{path} does not exist (expected a Stable Diffusion 1.5 folder with unet/ and vae/)")
        with open(path) as f:
            given = json.load(f)
        for key in config[part]:
            if key in given and given[key] is not None:
                config[part][key] = given[key]
        if part == "unet":
            down, up = given.get("down_block_types"), given.get("up_block_types")
            if (down is not None and list(down) != SD15_DOWN_BLOCKS) or (up is not None and list(up) != SD15_UP_BLOCKS):
                raise ValueError(f"{path}: block types {down} / {up} are not Stable Diffusion 1.5's")
            if given.get("use_linear_projection") or given.get("transformer_layers_per_block", 1) != 1:
                raise ValueError(f"{path}: use_linear_projection / transformer_layers_per_block differ from SD1.5's")
            if given.get("num_attention_heads") is not None:
                config[part]["attention_head_dim"] = given["num_attention_heads"]
        if isinstance(config[part]["attention_head_dim" if part == "unet" else "block_out_channels"], list) and part == "unet":
            raise ValueError(f"{path}: a per-block attention_head_dim is not supported")
    return config


# ---------------------------------------------------------------------------------------------------- building blocks

class ResnetBlock2D(nn.Module):
    """GroupNorm-SiLU-conv twice, the time embedding added between (when temb_channels), 1x1 shortcut on a width change."""

    def __init__(self, in_channels, out_channels, temb_channels, groups, eps, device=None):
        super().__init__()
        d = {"device": device}
        self.norm1 = nn.GroupNorm(groups, in_channels, eps=eps, **d)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1, **d)
        self.time_emb_proj = nn.Linear(temb_channels, out_channels, **d) if temb_channels else None
        self.norm2 = nn.GroupNorm(groups, out_channels, eps=eps, **d)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, **d)
        self.conv_shortcut = nn.Conv2d(in_channels, out_channels, 1, **d) if in_channels != out_channels else None

    def forward(self, x, temb=None):
        h = self.conv1(F.silu(self.norm1(x)))
        if self.time_emb_proj is not None:
            h = h + self.time_emb_proj(F.silu(temb))[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return (self.conv_shortcut(x) if self.conv_shortcut is not None else x) + h


class Downsample2D(nn.Module):
    """Stride-2 3x3 conv; the VAE's pads right/bottom by one instead of one on each side (padding=0)."""

    def __init__(self, channels, padding, device=None):
        super().__init__()
        self.padding = padding
        self.conv = nn.Conv2d(channels, channels, 3, stride=2, padding=padding, device=device)

    def forward(self, x):
        if self.padding == 0:
            x = F.pad(x, (0, 1, 0, 1))
        return self.conv(x)


class Upsample2D(nn.Module):
    def __init__(self, channels, device=None):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1, device=device)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class Attention(nn.Module):
    """Multi-head attention with diffusers' parameter names (to_q, to_k, to_v, to_out.0).

    A cross-attention whose context is constant (the teacher's: the class embeddings through the text adapter)
    can hold that context's keys and values as constants (fold_context), computed once instead of per image."""

    def __init__(self, dim, context_dim, heads, bias, group_norm=None, device=None):
        super().__init__()
        d = {"device": device}
        self.heads = heads
        self.group_norm = group_norm  # the VAE's mid-block attention normalises its own input
        self.to_q = nn.Linear(dim, dim, bias=bias, **d)
        self.to_k = nn.Linear(context_dim, dim, bias=bias, **d)
        self.to_v = nn.Linear(context_dim, dim, bias=bias, **d)
        self.to_out = nn.ModuleList([nn.Linear(dim, dim, **d)])
        self.scale = (dim // heads) ** -0.5
        self.folded = False

    def split(self, t):
        b, n, c = t.shape
        return t.reshape(b, n, self.heads, c // self.heads).transpose(1, 2)

    def fold_context(self, context):
        """Keep K and V of the constant context [M, context_dim] as buffers (not in the state_dict)."""
        with torch.no_grad():
            self.register_buffer("key_const", self.split(self.to_k(context)[None]).contiguous(), persistent=False)
            self.register_buffer("value_const", self.split(self.to_v(context)[None]).contiguous(), persistent=False)
        self.folded = True

    def forward(self, x, context=None):
        b, n, c = x.shape
        q = self.split(self.to_q(x))
        if self.folded:
            k, v = self.key_const, self.value_const  # [1, heads, M, d]: broadcast over the batch
        else:
            src = x if context is None else context
            k, v = self.split(self.to_k(src)), self.split(self.to_v(src))
        weights = torch.softmax(torch.matmul(q, k.transpose(-1, -2)) * self.scale, dim=-1)
        out = torch.matmul(weights, v).transpose(1, 2).reshape(b, n, c)
        return self.to_out[0](out)


class GEGLU(nn.Module):
    def __init__(self, dim, inner, device=None):
        super().__init__()
        self.proj = nn.Linear(dim, inner * 2, device=device)

    def forward(self, x):
        h, gate = self.proj(x).chunk(2, dim=-1)
        return h * F.gelu(gate)


class FeedForward(nn.Module):
    def __init__(self, dim, device=None):
        super().__init__()
        # net.1 is a dropout in diffusers (no parameters): an Identity keeps net.2's name.
        self.net = nn.ModuleList([GEGLU(dim, dim * 4, device), nn.Identity(), nn.Linear(dim * 4, dim, device=device)])

    def forward(self, x):
        return self.net[2](self.net[0](x))


class BasicTransformerBlock(nn.Module):
    def __init__(self, dim, context_dim, heads, device=None):
        super().__init__()
        d = {"device": device}
        self.norm1 = nn.LayerNorm(dim, eps=1e-5, **d)
        self.attn1 = Attention(dim, dim, heads, bias=False, **d)
        self.norm2 = nn.LayerNorm(dim, eps=1e-5, **d)
        self.attn2 = Attention(dim, context_dim, heads, bias=False, **d)
        self.norm3 = nn.LayerNorm(dim, eps=1e-5, **d)
        self.ff = FeedForward(dim, device)

    def forward(self, x, context):
        x = self.attn1(self.norm1(x)) + x
        x = self.attn2(self.norm2(x), context) + x
        return self.ff(self.norm3(x)) + x


class Transformer2DModel(nn.Module):
    """GroupNorm, 1x1 conv in, one transformer block over the H*W tokens, 1x1 conv out, residual."""

    def __init__(self, channels, context_dim, heads, groups, device=None):
        super().__init__()
        d = {"device": device}
        self.norm = nn.GroupNorm(groups, channels, eps=1e-6, **d)
        self.proj_in = nn.Conv2d(channels, channels, 1, **d)
        self.transformer_blocks = nn.ModuleList([BasicTransformerBlock(channels, context_dim, heads, device)])
        self.proj_out = nn.Conv2d(channels, channels, 1, **d)

    def forward(self, x, context):
        b, c, h, w = x.shape
        t = self.proj_in(self.norm(x)).reshape(b, c, h * w).transpose(1, 2)
        for block in self.transformer_blocks:
            t = block(t, context)
        return self.proj_out(t.transpose(1, 2).reshape(b, c, h, w)) + x


class Block(nn.Module):
    """A UNet or VAE block: resnets, optionally each followed by an attention, and an optional down/upsampler."""

    def __init__(self):
        super().__init__()


# ------------------------------------------------------------------------------------------------------------ UNet

class TimestepEmbedding(nn.Module):
    def __init__(self, in_dim, dim, device=None):
        super().__init__()
        self.linear_1 = nn.Linear(in_dim, dim, device=device)
        self.linear_2 = nn.Linear(dim, dim, device=device)

    def forward(self, x):
        return self.linear_2(F.silu(self.linear_1(x)))


class UNet(nn.Module):
    """SD1.5's UNet2DConditionModel as DP-IQA runs it: timestep 1, the adapter's four features added to the down
    blocks' outputs, and the four up blocks' outputs returned instead of the noise prediction (no conv_out)."""

    def __init__(self, c, device=None):
        super().__init__()
        d = {"device": device}
        ch = c["block_out_channels"]
        layers, groups, eps, heads, ctx = c["layers_per_block"], c["norm_num_groups"], c["norm_eps"], c["attention_head_dim"], c["cross_attention_dim"]
        self.time_channels = ch[0]
        self.flip_sin_to_cos, self.freq_shift = c["flip_sin_to_cos"], c["freq_shift"]
        temb = ch[0] * 4
        self.conv_in = nn.Conv2d(c["in_channels"], ch[0], 3, padding=1, **d)
        self.time_embedding = TimestepEmbedding(ch[0], temb, device)

        self.down_blocks = nn.ModuleList()
        prev = ch[0]
        for i, out in enumerate(ch):
            block = Block()
            block.resnets = nn.ModuleList([ResnetBlock2D(prev if j == 0 else out, out, temb, groups, eps, device) for j in range(layers)])
            if SD15_DOWN_BLOCKS[i] == "CrossAttnDownBlock2D":
                block.attentions = nn.ModuleList([Transformer2DModel(out, ctx, heads, groups, device) for _ in range(layers)])
            if i < len(ch) - 1:
                block.downsamplers = nn.ModuleList([Downsample2D(out, padding=1, device=device)])
            self.down_blocks.append(block)
            prev = out

        self.mid_block = Block()
        self.mid_block.attentions = nn.ModuleList([Transformer2DModel(ch[-1], ctx, heads, groups, device)])
        self.mid_block.resnets = nn.ModuleList([ResnetBlock2D(ch[-1], ch[-1], temb, groups, eps, device) for _ in range(2)])

        self.up_blocks = nn.ModuleList()
        rev = list(reversed(ch))
        prev = rev[0]
        for i, out in enumerate(rev):
            skip_in = rev[min(i + 1, len(ch) - 1)]
            block = Block()
            # Each resnet takes the previous output concatenated with one skip: the last skip of a level comes from
            # the level above's output width (skip_in), the others from this level's.
            block.resnets = nn.ModuleList([
                ResnetBlock2D((prev if j == 0 else out) + (skip_in if j == layers else out), out, temb, groups, eps, device)
                for j in range(layers + 1)])
            if SD15_UP_BLOCKS[i] == "CrossAttnUpBlock2D":
                block.attentions = nn.ModuleList([Transformer2DModel(out, ctx, heads, groups, device) for _ in range(layers + 1)])
            if i < len(ch) - 1:
                block.upsamplers = nn.ModuleList([Upsample2D(out, device)])
            self.up_blocks.append(block)
            prev = out

    def time_embedding_at(self, t, like):
        """The sinusoidal embedding of timestep t (diffusers' Timesteps), through time_embedding: [1, 4*C0]."""
        half = self.time_channels // 2
        exponent = -math.log(10000.0) * torch.arange(half, dtype=torch.float32, device=like.device) / (half - self.freq_shift)
        angles = float(t) * torch.exp(exponent)[None, :]
        emb = torch.cat([torch.cos(angles), torch.sin(angles)] if self.flip_sin_to_cos else [torch.sin(angles), torch.cos(angles)], dim=-1)
        return self.time_embedding(emb.to(like.dtype))

    def forward(self, latent, residuals, context, timestep=1):
        # The timestep is the same for every image, so its embedding is computed once for the batch ([1, D]
        # broadcasts) and the ONNX export folds it, with every resnet's projection of it, into constants.
        emb = self.time_embedding_at(timestep, latent)
        h = self.conv_in(latent)
        skips = [h]
        for i, block in enumerate(self.down_blocks):
            attentions = getattr(block, "attentions", None)
            for j, resnet in enumerate(block.resnets):
                h = resnet(h, emb)
                if attentions is not None:
                    h = attentions[j](h, context)
                if j == len(block.resnets) - 1:
                    # The adapter's feature joins the block's last output, which is also that level's last skip
                    # (in the official code's DownBlock2D by an in-place add on the aliased tensor).
                    h = h + residuals[i]
                skips.append(h)
            if hasattr(block, "downsamplers"):
                h = block.downsamplers[0](h)
                skips.append(h)

        h = self.mid_block.resnets[0](h, emb)
        h = self.mid_block.attentions[0](h, context)
        h = self.mid_block.resnets[1](h, emb)

        taps = []
        for block in self.up_blocks:
            attentions = getattr(block, "attentions", None)
            for j, resnet in enumerate(block.resnets):
                h = resnet(torch.cat([h, skips.pop()], dim=1), emb)
                if attentions is not None:
                    h = attentions[j](h, context)
            if hasattr(block, "upsamplers"):
                h = block.upsamplers[0](h)
            taps.append(h)
        return taps


# ------------------------------------------------------------------------------------------------------------- VAE

class Encoder(nn.Module):
    def __init__(self, c, device=None):
        super().__init__()
        d = {"device": device}
        ch, groups, layers = c["block_out_channels"], c["norm_num_groups"], c["layers_per_block"]
        self.conv_in = nn.Conv2d(c["in_channels"], ch[0], 3, padding=1, **d)
        self.down_blocks = nn.ModuleList()
        prev = ch[0]
        for i, out in enumerate(ch):
            block = Block()
            block.resnets = nn.ModuleList([ResnetBlock2D(prev if j == 0 else out, out, None, groups, 1e-6, device) for j in range(layers)])
            if i < len(ch) - 1:
                block.downsamplers = nn.ModuleList([Downsample2D(out, padding=0, device=device)])
            self.down_blocks.append(block)
            prev = out
        self.mid_block = Block()
        self.mid_block.attentions = nn.ModuleList([Attention(ch[-1], ch[-1], 1, bias=True, group_norm=nn.GroupNorm(groups, ch[-1], eps=1e-6, **d), device=device)])
        self.mid_block.resnets = nn.ModuleList([ResnetBlock2D(ch[-1], ch[-1], None, groups, 1e-6, device) for _ in range(2)])
        self.conv_norm_out = nn.GroupNorm(groups, ch[-1], eps=1e-6, **d)
        self.conv_out = nn.Conv2d(ch[-1], 2 * c["latent_channels"], 3, padding=1, **d)

    def forward(self, x):
        h = self.conv_in(x)
        for block in self.down_blocks:
            for resnet in block.resnets:
                h = resnet(h)
            if hasattr(block, "downsamplers"):
                h = block.downsamplers[0](h)
        h = self.mid_block.resnets[0](h)
        b, c, hh, ww = h.shape
        attn = self.mid_block.attentions[0]
        tokens = attn.group_norm(h).reshape(b, c, hh * ww).transpose(1, 2)
        h = attn(tokens).transpose(1, 2).reshape(b, c, hh, ww) + h
        h = self.mid_block.resnets[1](h)
        return self.conv_out(F.silu(self.conv_norm_out(h)))


class VaeEncoder(nn.Module):
    """AutoencoderKL's encoding half (attribute `vae` keeps the official names encoder.*, quant_conv.*)."""

    def __init__(self, c, device=None):
        super().__init__()
        self.encoder = Encoder(c, device)
        self.quant_conv = nn.Conv2d(2 * c["latent_channels"], 2 * c["latent_channels"], 1, device=device)
        self.latent_channels, self.scaling_factor = c["latent_channels"], c["scaling_factor"]

    def forward(self, x):
        """The latent distribution's MEAN times the scaling factor (the official code samples it)."""
        moments = self.quant_conv(self.encoder(x))
        return moments[:, :self.latent_channels] * self.scaling_factor


# --------------------------------------------------------------------------------------------------------- adapters

class AdapterResnetBlock(nn.Module):
    def __init__(self, channels, device=None):
        super().__init__()
        self.block1 = nn.Conv2d(channels, channels, 3, padding=1, device=device)
        self.block2 = nn.Conv2d(channels, channels, 1, device=device)

    def forward(self, x):
        return self.block2(F.relu(self.block1(x))) + x


class AdapterBlock(nn.Module):
    def __init__(self, in_channels, out_channels, blocks, down, device=None):
        super().__init__()
        self.down = down
        self.in_conv = nn.Conv2d(in_channels, out_channels, 1, device=device) if in_channels != out_channels else None
        self.resnets = nn.Sequential(*[AdapterResnetBlock(out_channels, device) for _ in range(blocks)])

    def forward(self, x):
        if self.down:
            x = F.avg_pool2d(x, 2, 2, ceil_mode=True)
        if self.in_conv is not None:
            x = self.in_conv(x)
        return self.resnets(x)


class FullAdapter(nn.Module):
    """The T2I image adapter with its defaults: pixel-unshuffle by 8, conv, four blocks of two resnets, each after
    the first halving the resolution, one feature per UNet down block."""

    def __init__(self, channels, in_channels=3, blocks=2, downscale=8, device=None):
        super().__init__()
        self.downscale = downscale
        self.conv_in = nn.Conv2d(in_channels * downscale ** 2, channels[0], 3, padding=1, device=device)
        self.body = nn.ModuleList([AdapterBlock(channels[max(i - 1, 0)], channels[i], blocks, i > 0, device) for i in range(len(channels))])

    def forward(self, x):
        x = self.conv_in(F.pixel_unshuffle(x, self.downscale))
        features = []
        for block in self.body:
            x = block(x)
            features.append(x)
        return features


class TextAdapter(nn.Module):
    def __init__(self, dim, device=None):
        super().__init__()
        self.fc = nn.Sequential(nn.Linear(dim, dim, device=device), nn.GELU(), nn.Linear(dim, dim, device=device))


# ------------------------------------------------------------------------------------------------- quality decoder

class SELayer(nn.Module):
    def __init__(self, channels, reduction, device=None):
        super().__init__()
        self.fc = nn.Sequential(nn.Linear(channels, channels // reduction, bias=False, device=device), nn.ReLU(),
                                nn.Linear(channels // reduction, channels, bias=False, device=device), nn.Sigmoid())

    def forward(self, x):
        return x * self.fc(x.mean(dim=(2, 3)))[:, :, None, None]


class QualityFeatureDecoder(nn.Module):
    def __init__(self, tap_channels, c, device=None):
        super().__init__()
        d = {"device": device}
        w, r, s1, s2, s3 = c["width"], c["se_reduction"], *c["score_channels"]
        self.map_size = c["map_size"]
        # conv1 takes the last (finest) tap, conv4 the first: the official model calls QFD(x4, x3, x2, x1).
        for i, channels in enumerate(reversed(tap_channels), start=1):
            setattr(self, f"conv{i}", nn.Conv2d(channels, w, 3, padding=1, **d))
            setattr(self, f"se{i}", SELayer(w, r, device))
        self.fuse_conv = nn.Conv2d(4 * w, w, 3, padding=1, **d)
        self.se_fuse = SELayer(w, r, device)
        self.conv_score1 = nn.Conv2d(w, s1, 1, **d)
        self.conv_score2 = nn.Conv2d(s1, s2, 1, **d)
        self.conv_score3 = nn.Conv2d(s2, s3, 1, **d)
        self.fc1 = nn.Linear(s3 * self.map_size ** 2, c["fc_width"], **d)
        self.fc2 = nn.Linear(c["fc_width"], c["fc_width"], **d)
        self.fc3 = nn.Linear(c["fc_width"], 1, **d)

    def resize(self, x):
        # Bicubic resizing to the map's own size is the identity (the cubic kernel is 1 at 0 and 0 at +-1, +-2),
        # so a tap already at map size skips it.
        if x.shape[-1] == self.map_size and x.shape[-2] == self.map_size:
            return x
        return F.interpolate(x, size=(self.map_size, self.map_size), mode="bicubic", align_corners=False)

    def forward(self, x1, x2, x3, x4):
        parts = [getattr(self, f"se{i}")(getattr(self, f"conv{i}")(self.resize(x))) for i, x in enumerate((x1, x2, x3, x4), start=1)]
        fused = self.se_fuse(self.fuse_conv(torch.cat(parts, dim=1)))
        m = F.relu(self.conv_score3(F.relu(self.conv_score2(F.relu(self.conv_score1(fused))))))
        s = F.relu(self.fc2(F.relu(self.fc1(m.reshape(m.shape[0], -1)))))
        return self.fc3(s), m


class DPIQATeacher(nn.Module):
    """The whole teacher; forward(image) returns (score [N,1], the 8-channel distillation map) as the official does."""

    def __init__(self, config=SD15, device=None):
        super().__init__()
        self.config = config
        u = config["unet"]
        self.vae = VaeEncoder(config["vae"], device)
        self.unet = UNet(u, device)
        dim = u["cross_attention_dim"]
        self.gamma = nn.Parameter(torch.empty(dim, device=device))
        self.text_adapter = TextAdapter(dim, device)
        self.img_adapter = FullAdapter(u["block_out_channels"], device=device)
        self.QFD = QualityFeatureDecoder(list(reversed(u["block_out_channels"])), config["qfd"], device)
        self.register_buffer("class_embeddings", torch.empty(0, dim, device=device), persistent=False)

    def set_class_embeddings(self, embeddings):
        if embeddings.dim() != 2 or embeddings.shape[1] != self.gamma.shape[0]:
            raise ValueError(f"class embeddings of shape {list(embeddings.shape)}; expected [M, {self.gamma.shape[0]}]")
        self.class_embeddings = embeddings.to(torch.float32)

    def context(self):
        """ctx = E + gamma * TextAdapter(E): the cross-attention context, the same for every image."""
        e = self.class_embeddings
        return e + self.gamma * self.text_adapter.fc(e)

    def cross_attentions(self):
        return [m.attn2 for m in self.unet.modules() if isinstance(m, BasicTransformerBlock)]

    def fold_context(self):
        """Compute the context once and keep each cross-attention's K and V of it as constants."""
        ctx = self.context()
        for attn in self.cross_attentions():
            attn.fold_context(ctx)

    def features(self, image):
        """(latent, adapter features, taps) for an image batch [N,3,H,W] in [0,1]."""
        latent = self.vae(image)
        residuals = self.img_adapter(image)
        folded = all(a.folded for a in self.cross_attentions())
        ctx = None if folded else self.context()[None].expand(image.shape[0], -1, -1)
        taps = self.unet(latent, residuals, ctx)
        return latent, residuals, taps

    def forward(self, image):
        _, _, (x1, x2, x3, x4) = self.features(image)
        return self.QFD(x4, x3, x2, x1)


# ------------------------------------------------------------------------------------------------ loading weights

def split_checkpoint(state):
    """(used, unused) keys of an official teacher state_dict (`module.` prefixes removed)."""
    state = {k[len("module."):] if k.startswith("module.") else k: v for k, v in state.items()}
    used = {k: v for k, v in state.items() if not k.startswith(UNUSED_PREFIXES)}
    unused = {k: v for k, v in state.items() if k.startswith(UNUSED_PREFIXES)}
    return used, unused


def mismatch(model, state):
    """(missing, unexpected, wrong_shape) between the model's state_dict and `state` (used keys only)."""
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    wrong = [f"{k} {list(state[k].shape)} (expected {list(own[k].shape)})" for k in own
             if k in state and tuple(state[k].shape) != tuple(own[k].shape)]
    return missing, unexpected, wrong


def assign_weights(model, state):
    """Make the model's parameters the given tensors (no copy), so a model built on the meta device takes a 4 GB
    checkpoint without a second copy. Keys and shapes must match exactly (check with mismatch() first)."""
    for name, tensor in state.items():
        owner_name, _, leaf = name.rpartition(".")
        owner = model.get_submodule(owner_name) if owner_name else model
        if leaf in owner._parameters:
            owner._parameters[leaf] = nn.Parameter(tensor.to(torch.float32).contiguous(), requires_grad=False)
        else:
            owner._buffers[leaf] = tensor
    return model


def perturbed_weight(name, shape, seed=0):
    """A deterministic random tensor for parameter `name` (seeded by the name, so any two models with the same names
    get the same weights): weights ~ N(0, 1/fan_in), norm scales 1 + N(0, 0.1^2), biases N(0, 0.1^2). The scale
    keeps a random network's activations in range (GroupNorm everywhere, residual sums grow slowly)."""
    g = torch.Generator().manual_seed((zlib.crc32(name.encode()) ^ seed) & 0x7FFFFFFF)
    shape = tuple(shape)
    if name.endswith("num_batches_tracked"):
        return torch.zeros(shape, dtype=torch.long)
    if name.endswith("running_var"):
        return 1.0 + 0.1 * torch.rand(shape, generator=g)
    n = torch.randn(shape, generator=g)
    if name == "gamma":
        return 0.5 * n
    if len(shape) >= 2:
        fan_in = math.prod(shape[1:])
        return n / math.sqrt(fan_in)
    if name.endswith(".weight"):
        return 1.0 + 0.1 * n
    return 0.1 * n


def fill_perturbed(model, seed=0):
    """Overwrite every parameter in place with perturbed_weight (works after to_empty: no second copy)."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(perturbed_weight(name, p.shape, seed))
    return model


def build(config=SD15, device=None):
    return DPIQATeacher(config, device).eval()
