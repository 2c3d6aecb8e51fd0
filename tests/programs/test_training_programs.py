"""Short PyTorch-style training programs, as tutorials write them, run with ``import ember as
torch``: each trains a few steps on small synthetic data and checks what it produced."""

from __future__ import annotations

import math

import numpy as np

import ember as torch
from ember.utils.data import DataLoader, Dataset, TensorDataset, WeightedRandomSampler, random_split

nn = torch.nn
F = torch.nn.functional
optim = torch.optim


def make_blobs(n: int = 256, classes: int = 3, dim: int = 4, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    centers = torch.randn(classes, dim, generator=gen) * 3
    y = torch.randint(0, classes, (n,), generator=gen)
    x = centers[y] + torch.randn(n, dim, generator=gen)
    return x, y


def test_mlp_classifier_with_random_split_and_loaders():
    torch.manual_seed(0)
    x, y = make_blobs()
    dataset = TensorDataset(x, y)
    train_set, val_set = random_split(dataset, [0.8, 0.2])
    assert len(train_set) + len(val_set) == len(dataset)
    train_loader = DataLoader(train_set, batch_size=32, shuffle=True, drop_last=True)
    val_loader = DataLoader(val_set, batch_size=64)

    model = nn.Sequential(nn.Linear(4, 32), nn.ReLU(), nn.Dropout(0.1), nn.Linear(32, 3))
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.Adam(model.parameters(), lr=1e-2)
    history = []
    for epoch in range(5):
        model.train()
        running = 0.0
        for xb, yb in train_loader:
            optimizer.zero_grad()
            loss = criterion(model(xb), yb)
            loss.backward()
            optimizer.step()
            running += loss.item() * xb.size(0)
        history.append(running / len(train_loader.dataset))
        model.eval()
        correct = total = 0
        with torch.no_grad():
            for xb, yb in val_loader:
                _, predicted = model(xb).max(1)
                total += yb.size(0)
                correct += (predicted == yb).sum().item()
        summary = f"epoch {epoch}: loss {history[-1]:.4f} acc {100 * correct / total:.1f}%"
        assert summary.startswith(f"epoch {epoch}")
    assert history[-1] < history[0]
    assert correct / total > 0.8


def test_cnn_with_batchnorm_dropout_and_eval_mode():
    torch.manual_seed(0)

    class SmallCNN(nn.Module):
        def __init__(self, num_classes=2):
            super().__init__()
            self.features = nn.Sequential(
                nn.Conv2d(1, 8, kernel_size=3, padding=1),
                nn.BatchNorm2d(8),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(2),
                nn.Conv2d(8, 16, 3, padding=1),
                nn.BatchNorm2d(16),
                nn.ReLU(inplace=True),
                nn.AdaptiveAvgPool2d((1, 1)),
            )
            self.dropout = nn.Dropout(p=0.25)
            self.fc = nn.Linear(16, num_classes)

        def forward(self, x):
            x = self.features(x)
            x = torch.flatten(x, 1)
            return self.fc(self.dropout(x))

    # class 1: a bright square in the top-left corner
    images = torch.rand(64, 1, 8, 8) * 0.3
    labels = torch.randint(0, 2, (64,))
    images[labels == 1, :, :4, :4] += 1.0
    loader = DataLoader(TensorDataset(images, labels), batch_size=16, shuffle=True)
    model = SmallCNN()
    optimizer = optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    losses = []
    for _ in range(4):
        model.train()
        for inputs, targets in loader:
            outputs = model(inputs)
            loss = F.cross_entropy(outputs, targets)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    model.eval()
    with torch.no_grad():
        logits = model(images)
        preds = torch.argmax(logits, dim=1)
        acc = (preds == labels).float().mean().item()
    assert model.features[1].num_batches_tracked.item() == 16
    assert not model.training and not model.features[1].training
    assert acc > 0.9, acc
    assert np.mean(losses[-4:]) < np.mean(losses[:4])


def test_embedding_lstm_classifier_with_packed_sequences():
    torch.manual_seed(0)
    from ember.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence, pad_sequence

    vocab, pad_idx = 20, 0
    # label: does the sequence contain token 7?
    seqs, labels = [], []
    for i in range(48):
        length = 3 + i % 6
        s = torch.randint(1, vocab, (length,))
        s[s == 7] = 8
        if i % 2:
            s[torch.randint(0, length, (1,))] = 7
        seqs.append(s)
        labels.append(i % 2)

    class Classifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(vocab, 16, padding_idx=pad_idx)
            self.lstm = nn.LSTM(16, 32, num_layers=1, batch_first=True, bidirectional=True)
            self.head = nn.Linear(2 * 32, 2)

        def forward(self, padded, lengths):
            emb = self.embedding(padded)
            packed = pack_padded_sequence(emb, lengths, batch_first=True, enforce_sorted=False)
            packed_out, (h_n, c_n) = self.lstm(packed)
            out, out_lengths = pad_packed_sequence(packed_out, batch_first=True)
            assert out.shape[:2] == padded.shape[:2]
            assert torch.equal(out_lengths, lengths)
            hidden = torch.cat((h_n[-2, :, :], h_n[-1, :, :]), dim=1)
            return self.head(hidden)

    def collate(batch):
        xs, ys = zip(*batch)
        lengths = torch.tensor([len(s) for s in xs])
        return pad_sequence(list(xs), batch_first=True, padding_value=pad_idx), lengths, torch.tensor(ys)

    data = list(zip(seqs, labels))
    loader = DataLoader(data, batch_size=8, shuffle=True, collate_fn=collate)
    model = Classifier()
    assert model.embedding.weight[pad_idx].abs().sum().item() == 0
    optimizer = optim.Adam(model.parameters(), lr=0.01)
    first = last = None
    for _ in range(12):
        total = 0.0
        for padded, lengths, ys in loader:
            optimizer.zero_grad()
            loss = F.cross_entropy(model(padded, lengths), ys)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
            optimizer.step()
            total += loss.item()
        first = total if first is None else first
        last = total
    assert last < first * 0.7
    assert model.embedding.weight.grad[pad_idx].abs().sum().item() == 0


def test_gru_seq2seq_with_teacher_forcing():
    torch.manual_seed(0)
    import random

    random.seed(0)
    vocab, sos, hidden = 12, 0, 32

    class Encoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(vocab, hidden)
            self.gru = nn.GRU(hidden, hidden, batch_first=True)

        def forward(self, src):
            outputs, h = self.gru(self.embedding(src))
            return outputs, h

    class Decoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(vocab, hidden)
            self.gru = nn.GRU(hidden, hidden, batch_first=True)
            self.out = nn.Linear(hidden, vocab)

        def forward(self, token, h):
            out, h = self.gru(self.embedding(token).unsqueeze(1), h)
            return self.out(out.squeeze(1)), h

    encoder, decoder = Encoder(), Decoder()
    params = list(encoder.parameters()) + list(decoder.parameters())
    optimizer = optim.Adam(params, lr=5e-3)
    criterion = nn.NLLLoss()

    def batch(n=16, length=5):
        src = torch.randint(1, vocab, (n, length))
        return src, src.flip(1)  # learn to reverse

    losses = []
    for _step in range(60):
        src, tgt = batch()
        optimizer.zero_grad()
        _, h = encoder(src)
        token = torch.full((src.size(0),), sos, dtype=torch.long)
        loss = 0
        for t in range(tgt.size(1)):
            logits, h = decoder(token, h)
            loss = loss + criterion(F.log_softmax(logits, dim=-1), tgt[:, t])
            teacher_force = random.random() < 0.5
            token = tgt[:, t] if teacher_force else logits.argmax(-1).detach()
        loss = loss / tgt.size(1)
        loss.backward()
        torch.nn.utils.clip_grad_value_(params, 1.0)
        optimizer.step()
        losses.append(loss.item())
    assert sum(losses[-10:]) / 10 < sum(losses[:10]) / 10


def test_transformer_language_model_with_causal_mask():
    torch.manual_seed(0)
    vocab, d_model, seq_len = 16, 32, 10

    class PositionalEncoding(nn.Module):
        def __init__(self, d_model, max_len=64):
            super().__init__()
            position = torch.arange(max_len).unsqueeze(1)
            div_term = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
            pe = torch.zeros(max_len, 1, d_model)
            pe[:, 0, 0::2] = torch.sin(position * div_term)
            pe[:, 0, 1::2] = torch.cos(position * div_term)
            self.register_buffer("pe", pe)

        def forward(self, x):  # (seq, batch, d_model)
            return x + self.pe[: x.size(0)]

    class TransformerLM(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(vocab, d_model)
            self.pos = PositionalEncoding(d_model)
            layer = nn.TransformerEncoderLayer(d_model, nhead=4, dim_feedforward=64, dropout=0.0)
            self.encoder = nn.TransformerEncoder(layer, num_layers=2)
            self.lm_head = nn.Linear(d_model, vocab)

        def forward(self, src, src_mask):
            x = self.pos(self.embed(src) * math.sqrt(d_model))
            return self.lm_head(self.encoder(x, src_mask))

    mask = nn.Transformer.generate_square_subsequent_mask(seq_len)
    manual = torch.triu(torch.ones(seq_len, seq_len), diagonal=1).bool()
    manual = torch.zeros(seq_len, seq_len).masked_fill(manual, float("-inf"))
    assert torch.equal(mask, manual)

    model = TransformerLM()
    optimizer = optim.AdamW(model.parameters(), lr=3e-3)
    # repeating pattern: next token is (t + 1) % vocab
    start = torch.randint(0, vocab, (1, 8))
    data = (start + torch.arange(seq_len + 1).unsqueeze(1)) % vocab  # (seq+1, batch)
    inp, target = data[:-1], data[1:]
    losses = []
    for _ in range(30):
        optimizer.zero_grad()
        logits = model(inp, mask)
        loss = F.cross_entropy(logits.view(-1, vocab), target.reshape(-1))
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
    # causality: changing a later token leaves earlier outputs unchanged
    model.eval()
    with torch.no_grad():
        a = model(inp, mask)
        changed = inp.clone()
        changed[-1] = (changed[-1] + 3) % vocab
        b = model(changed, mask)
    torch.testing.assert_close(a[:-1], b[:-1])


def test_vae_with_reparameterization_and_bce_sum():
    torch.manual_seed(0)

    class VAE(nn.Module):
        def __init__(self, d=16, z=2):
            super().__init__()
            self.fc1 = nn.Linear(d, 32)
            self.fc_mu = nn.Linear(32, z)
            self.fc_logvar = nn.Linear(32, z)
            self.fc3 = nn.Linear(z, 32)
            self.fc4 = nn.Linear(32, d)

        def encode(self, x):
            h = F.relu(self.fc1(x))
            return self.fc_mu(h), self.fc_logvar(h)

        def reparameterize(self, mu, logvar):
            std = torch.exp(0.5 * logvar)
            eps = torch.randn_like(std)
            return mu + eps * std

        def decode(self, z):
            return torch.sigmoid(self.fc4(F.relu(self.fc3(z))))

        def forward(self, x):
            mu, logvar = self.encode(x.view(-1, 16))
            return self.decode(self.reparameterize(mu, logvar)), mu, logvar

    def loss_function(recon_x, x, mu, logvar):
        bce = F.binary_cross_entropy(recon_x, x.view(-1, 16), reduction="sum")
        kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
        return bce + kld

    data = (torch.rand(128, 4, 4) > 0.5).float()
    model = VAE()
    optimizer = optim.Adam(model.parameters(), lr=1e-2)
    epoch_losses = []
    for _ in range(10):
        train_loss = 0
        for (batch,) in DataLoader(TensorDataset(data), batch_size=32):
            optimizer.zero_grad()
            recon, mu, logvar = model(batch)
            loss = loss_function(recon, batch, mu, logvar)
            loss.backward()
            train_loss += loss.item()
            optimizer.step()
        epoch_losses.append(train_loss / len(data))
    assert epoch_losses[-1] < epoch_losses[0]
    with torch.no_grad():
        sample = model.decode(torch.randn(8, 2))
    assert sample.shape == (8, 16) and 0 <= sample.min() and sample.max() <= 1


def test_gan_loop_with_two_optimizers_and_detach():
    torch.manual_seed(0)
    latent = 4
    generator = nn.Sequential(nn.Linear(latent, 16), nn.LeakyReLU(0.2), nn.Linear(16, 2))
    discriminator = nn.Sequential(
        nn.Linear(2, 16), nn.LeakyReLU(0.2, inplace=True), nn.Linear(16, 1), nn.Sigmoid()
    )
    criterion = nn.BCELoss()
    opt_g = optim.Adam(generator.parameters(), lr=2e-3, betas=(0.5, 0.999))
    opt_d = optim.Adam(discriminator.parameters(), lr=2e-3, betas=(0.5, 0.999))
    real_data = torch.randn(512, 2) * 0.1 + torch.tensor([2.0, -1.0])
    for _step in range(150):
        real = real_data[torch.randint(0, 512, (32,))]
        real_labels = torch.ones(32, 1)
        fake_labels = torch.zeros(32, 1)
        # discriminator
        opt_d.zero_grad()
        fake = generator(torch.randn(32, latent))
        d_loss = criterion(discriminator(real), real_labels) + criterion(
            discriminator(fake.detach()), fake_labels
        )
        d_loss.backward()
        opt_d.step()
        # generator
        opt_g.zero_grad()
        g_loss = criterion(discriminator(fake), real_labels)
        g_loss.backward()
        opt_g.step()
    with torch.no_grad():
        samples = generator(torch.randn(256, latent))
    mean = samples.mean(dim=0)
    assert torch.allclose(mean, torch.tensor([2.0, -1.0]), atol=0.6), mean


def test_checkpoint_save_and_resume(tmp_path):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 1))
    optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
    x = torch.randn(32, 3)
    y = x.sum(dim=1, keepdim=True)
    for epoch in range(3):
        last_epoch = epoch
        optimizer.zero_grad()
        loss = F.mse_loss(model(x), y)
        loss.backward()
        optimizer.step()
        scheduler.step()
    path = tmp_path / "checkpoint.pt"
    torch.save(
        {
            "epoch": last_epoch,
            "model_state_dict": model.state_dict(),
            "optimizer_state_dict": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "loss": loss.item(),
        },
        path,
    )
    torch.save(model.state_dict(), tmp_path / "weights.pth")

    fresh = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 1))
    fresh.load_state_dict(torch.load(tmp_path / "weights.pth"))
    for a, b in zip(model.parameters(), fresh.parameters()):
        assert torch.equal(a, b)

    checkpoint = torch.load(path, map_location="cpu")
    resumed = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 1))
    resumed_opt = optim.SGD(resumed.parameters(), lr=0.1, momentum=0.9)
    resumed_sched = optim.lr_scheduler.StepLR(resumed_opt, step_size=2, gamma=0.5)
    resumed.load_state_dict(checkpoint["model_state_dict"])
    resumed_opt.load_state_dict(checkpoint["optimizer_state_dict"])
    resumed_sched.load_state_dict(checkpoint["scheduler"])
    assert checkpoint["epoch"] == 2 and isinstance(checkpoint["loss"], float)
    assert resumed_opt.param_groups[0]["lr"] == optimizer.param_groups[0]["lr"] == 0.05
    # both continue identically
    for m, o in ((model, optimizer), (resumed, resumed_opt)):
        o.zero_grad()
        F.mse_loss(m(x), y).backward()
        o.step()
    for a, b in zip(model.parameters(), resumed.parameters()):
        assert torch.allclose(a, b)


def test_lr_schedulers_as_tutorials_use_them():
    model = nn.Linear(2, 1)

    def lrs(make_scheduler, steps, metric=None):
        opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        sched = make_scheduler(opt)
        seen = []
        for i in range(steps):
            opt.step()
            if metric is None:
                sched.step()
            else:
                sched.step(metric(i))
            seen.append(opt.param_groups[0]["lr"])
        return seen, sched

    step, _ = lrs(lambda o: optim.lr_scheduler.StepLR(o, step_size=3, gamma=0.1), 6)
    assert step[:2] == [0.1, 0.1] and math.isclose(step[2], 0.01)
    cos, sched = lrs(lambda o: optim.lr_scheduler.CosineAnnealingLR(o, T_max=10, eta_min=0.0), 10)
    assert math.isclose(cos[-1], 0.0, abs_tol=1e-12) and cos[4] < 0.1
    assert sched.get_last_lr() == [cos[-1]]
    one, _ = lrs(lambda o: optim.lr_scheduler.OneCycleLR(o, max_lr=1.0, total_steps=20), 19)
    assert max(one) > 0.9 and one[-1] < 0.01
    lam, _ = lrs(lambda o: optim.lr_scheduler.LambdaLR(o, lr_lambda=lambda e: 0.95**e), 3)
    assert math.isclose(lam[-1], 0.1 * 0.95**3)
    plateau, _ = lrs(
        lambda o: optim.lr_scheduler.ReduceLROnPlateau(o, mode="min", factor=0.5, patience=2),
        8,
        metric=lambda i: 1.0,
    )
    assert plateau[-1] < 0.1
    warm, _ = lrs(
        lambda o: optim.lr_scheduler.SequentialLR(
            o,
            schedulers=[
                optim.lr_scheduler.LinearLR(o, start_factor=0.1, total_iters=3),
                optim.lr_scheduler.ExponentialLR(o, gamma=0.9),
            ],
            milestones=[3],
        ),
        6,
    )
    assert warm[0] < warm[2] <= 0.1 + 1e-12 and warm[-1] < 0.1


def test_weighted_sampler_for_imbalanced_classes():
    torch.manual_seed(0)
    labels = torch.cat([torch.zeros(90, dtype=torch.long), torch.ones(10, dtype=torch.long)])
    features = torch.randn(100, 3)
    class_counts = torch.bincount(labels)
    class_weights = 1.0 / class_counts.float()
    sample_weights = class_weights[labels]
    sampler = WeightedRandomSampler(sample_weights, num_samples=len(sample_weights), replacement=True)
    loader = DataLoader(TensorDataset(features, labels), batch_size=20, sampler=sampler)
    seen = torch.cat([yb for _, yb in loader])
    assert len(seen) == 100
    frac = seen.float().mean().item()
    assert 0.3 < frac < 0.7, frac


def test_custom_dataset_returning_dicts():
    class PairsDataset(Dataset):
        def __init__(self, n):
            self.x = np.random.rand(n, 3).astype(np.float32)
            self.y = (self.x.sum(axis=1) > 1.5).astype(np.int64)

        def __len__(self):
            return len(self.x)

        def __getitem__(self, idx):
            return {"features": torch.from_numpy(self.x[idx]), "label": int(self.y[idx]), "id": idx}

    ds = PairsDataset(50)
    loader = DataLoader(ds, batch_size=16, shuffle=False)
    batches = list(loader)
    assert len(loader) == 4 and len(batches) == 4
    first = batches[0]
    assert first["features"].shape == (16, 3) and first["features"].dtype == torch.float32
    assert first["label"].dtype == torch.int64 and first["id"].tolist() == list(range(16))
    model = nn.Linear(3, 2)
    opt = optim.SGD(model.parameters(), lr=0.5)
    for _ in range(20):
        for b in loader:
            opt.zero_grad()
            F.cross_entropy(model(b["features"]), b["label"]).backward()
            opt.step()
    with torch.no_grad():
        acc = (model(torch.from_numpy(ds.x)).argmax(1).numpy() == ds.y).mean()
    assert acc > 0.8
