"""PyTorch programs for the models tutorials build from scratch (attention, ViT, contrastive
learning, DQN, PPO, style transfer, adversarial examples, graph message passing, VQ-VAE),
run with ``import ember as torch``."""

from __future__ import annotations

import copy
import math
import random
from collections import deque

import numpy as np

import ember as torch

nn = torch.nn
F = torch.nn.functional
optim = torch.optim


def test_attention_from_scratch_and_vit_patch_embedding():
    torch.manual_seed(0)

    def attention(q, k, v, mask=None, dropout=None):
        d_k = q.size(-1)
        scores = torch.matmul(q, k.transpose(-2, -1)) / math.sqrt(d_k)
        if mask is not None:
            scores = scores.masked_fill(mask == 0, -1e9)
        p_attn = scores.softmax(dim=-1)
        if dropout is not None:
            p_attn = dropout(p_attn)
        return torch.matmul(p_attn, v), p_attn

    class MultiHeaded(nn.Module):
        def __init__(self, h, d_model):
            super().__init__()
            self.d_k, self.h = d_model // h, h
            self.linears = nn.ModuleList([copy.deepcopy(nn.Linear(d_model, d_model)) for _ in range(4)])

        def forward(self, query, key, value, mask=None):
            if mask is not None:
                mask = mask.unsqueeze(1)
            nbatches = query.size(0)
            query, key, value = [
                lin(x).view(nbatches, -1, self.h, self.d_k).transpose(1, 2)
                for lin, x in zip(self.linears, (query, key, value))
            ]
            x, self.attn = attention(query, key, value, mask=mask)
            x = x.transpose(1, 2).contiguous().view(nbatches, -1, self.h * self.d_k)
            return self.linears[-1](x)

    class ViT(nn.Module):
        def __init__(self, image=8, patch=4, dim=16, classes=2):
            super().__init__()
            self.patch_embed = nn.Conv2d(1, dim, kernel_size=patch, stride=patch)
            n = (image // patch) ** 2
            self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
            self.pos_embed = nn.Parameter(torch.zeros(1, n + 1, dim))
            nn.init.trunc_normal_(self.pos_embed, std=0.02)
            self.attn = MultiHeaded(4, dim)
            self.norm = nn.LayerNorm(dim, eps=1e-6)
            self.head = nn.Linear(dim, classes)

        def forward(self, x):
            x = self.patch_embed(x).flatten(2).transpose(1, 2)
            cls = self.cls_token.expand(x.shape[0], -1, -1)
            x = torch.cat((cls, x), dim=1) + self.pos_embed
            x = x + self.attn(x, x, x)
            return self.head(self.norm(x)[:, 0])

    images = torch.rand(32, 1, 8, 8)
    labels = (images[:, 0, :4].mean(dim=(1, 2)) > images[:, 0, 4:].mean(dim=(1, 2))).long()
    model = ViT()
    optimizer = optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.05)
    losses = []
    for _ in range(40):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(images), labels)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]
    assert model.attn.attn.shape == (32, 4, 5, 5)
    mask = torch.ones(2, 1, 5)
    mask[1, :, 3:] = 0
    out = model.attn(torch.randn(2, 5, 16), torch.randn(2, 5, 16), torch.randn(2, 5, 16), mask)
    assert out.shape == (2, 5, 16)
    assert torch.all(model.attn.attn[1, :, :, 3:] < 1e-6)


def test_simclr_nt_xent_and_knowledge_distillation():
    torch.manual_seed(0)
    encoder = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 16))
    optimizer = optim.Adam(encoder.parameters(), lr=1e-3)

    def nt_xent(z1, z2, temperature=0.5):
        n = z1.shape[0]
        z = F.normalize(torch.cat([z1, z2], dim=0), dim=1)
        sim = torch.mm(z, z.t()) / temperature
        sim.fill_diagonal_(float("-inf"))
        targets = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)])
        return F.cross_entropy(sim, targets)

    x = torch.randn(64, 8)
    losses = []
    for _ in range(20):
        v1 = x + 0.1 * torch.randn_like(x)
        v2 = x + 0.1 * torch.randn_like(x)
        loss = nt_xent(encoder(v1), encoder(v2))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]

    teacher = nn.Sequential(nn.Linear(8, 4))
    student = nn.Sequential(nn.Linear(8, 4))
    teacher.eval()
    opt = optim.SGD(student.parameters(), lr=0.5)
    T, alpha = 4.0, 0.7
    labels = teacher(x).argmax(1).detach()
    for _ in range(30):
        with torch.no_grad():
            t_logits = teacher(x)
        s_logits = student(x)
        soft = F.kl_div(
            F.log_softmax(s_logits / T, dim=1), F.softmax(t_logits / T, dim=1), reduction="batchmean"
        ) * (T * T)
        hard = F.cross_entropy(s_logits, labels)
        loss = alpha * soft + (1 - alpha) * hard
        opt.zero_grad()
        loss.backward()
        opt.step()
    agree = (student(x).argmax(1) == labels).float().mean()
    assert agree > 0.8


def test_dqn_with_replay_buffer_and_target_network():
    torch.manual_seed(0)
    random.seed(0)

    # a chain environment: move right (action 1) to reach reward at the end
    class Chain:
        def __init__(self, n=5):
            self.n = n

        def reset(self):
            self.pos = 0
            return self.obs()

        def obs(self):
            o = np.zeros(self.n, dtype=np.float32)
            o[self.pos] = 1
            return o

        def step(self, action):
            self.pos = min(self.pos + 1, self.n - 1) if action == 1 else max(self.pos - 1, 0)
            done = self.pos == self.n - 1
            return self.obs(), float(done), done

    env = Chain()
    policy_net = nn.Sequential(nn.Linear(5, 32), nn.ReLU(), nn.Linear(32, 2))
    target_net = nn.Sequential(nn.Linear(5, 32), nn.ReLU(), nn.Linear(32, 2))
    target_net.load_state_dict(policy_net.state_dict())
    optimizer = optim.Adam(policy_net.parameters(), lr=1e-3)
    memory = deque(maxlen=1000)
    gamma, tau = 0.9, 0.05

    def select_action(state, eps):
        if random.random() < eps:
            return random.randrange(2)
        with torch.no_grad():
            return policy_net(torch.tensor(state).unsqueeze(0)).max(1)[1].item()

    steps = 0
    for episode in range(40):
        state = env.reset()
        for _t in range(20):
            action = select_action(state, eps=max(0.1, 1 - episode / 20))
            next_state, reward, done = env.step(action)
            memory.append((state, action, reward, next_state, done))
            state = next_state
            steps += 1
            if len(memory) >= 32:
                batch = random.sample(memory, 32)
                states, actions, rewards, next_states, dones = zip(*batch)
                states = torch.tensor(np.array(states), dtype=torch.float32)
                actions = torch.tensor(actions, dtype=torch.int64).unsqueeze(1)
                rewards = torch.tensor(rewards, dtype=torch.float32)
                next_states = torch.from_numpy(np.stack(next_states))
                dones = torch.tensor(dones, dtype=torch.bool)
                q = policy_net(states).gather(1, actions)
                with torch.no_grad():
                    next_q = target_net(next_states).max(1).values
                    next_q[dones] = 0.0
                expected = rewards + gamma * next_q
                loss = F.smooth_l1_loss(q, expected.unsqueeze(1))
                optimizer.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_value_(policy_net.parameters(), 100)
                optimizer.step()
                target_sd = target_net.state_dict()
                policy_sd = policy_net.state_dict()
                for key in policy_sd:
                    target_sd[key] = policy_sd[key] * tau + target_sd[key] * (1 - tau)
                target_net.load_state_dict(target_sd)
            if done:
                break
    with torch.no_grad():
        greedy = policy_net(torch.eye(5)[:4]).argmax(1)
    assert greedy.tolist() == [1, 1, 1, 1]


def test_ppo_clipped_objective_with_gaussian_policy():
    torch.manual_seed(0)
    from ember.distributions import Normal

    class ActorCritic(nn.Module):
        def __init__(self):
            super().__init__()
            self.actor = nn.Sequential(nn.Linear(2, 32), nn.Tanh(), nn.Linear(32, 1))
            self.critic = nn.Sequential(nn.Linear(2, 32), nn.Tanh(), nn.Linear(32, 1))
            self.log_std = nn.Parameter(torch.zeros(1))

        def dist(self, s):
            return Normal(self.actor(s), self.log_std.exp().expand_as(self.actor(s)))

    ac = ActorCritic()
    optimizer = optim.Adam(ac.parameters(), lr=3e-3)
    clip_eps = 0.2
    mean_rewards = []
    for _iteration in range(30):
        states = torch.randn(64, 2)
        with torch.no_grad():
            d = ac.dist(states)
            actions = d.sample()
            old_log_probs = d.log_prob(actions).sum(-1)
            rewards = -((actions.squeeze(-1) - states[:, 0]) ** 2)
            values = ac.critic(states).squeeze(-1)
        advantages = rewards - values
        advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
        for _ in range(4):
            d = ac.dist(states)
            new_log_probs = d.log_prob(actions).sum(-1)
            ratio = torch.exp(new_log_probs - old_log_probs)
            surr1 = ratio * advantages
            surr2 = torch.clamp(ratio, 1 - clip_eps, 1 + clip_eps) * advantages
            actor_loss = -torch.min(surr1, surr2).mean()
            critic_loss = F.mse_loss(ac.critic(states).squeeze(-1), rewards)
            loss = actor_loss + 0.5 * critic_loss - 0.01 * d.entropy().mean()
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(ac.parameters(), 0.5)
            optimizer.step()
        mean_rewards.append(rewards.mean().item())
    assert np.mean(mean_rewards[-5:]) > np.mean(mean_rewards[:5])


def test_style_transfer_style_optimisation_of_an_image_with_lbfgs():
    torch.manual_seed(0)
    features = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1))
    for p in features.parameters():
        p.requires_grad_(False)
    features.eval()

    def gram_matrix(x):
        a, b, c, d = x.size()
        f = x.view(a * b, c * d)
        return torch.mm(f, f.t()).div(a * b * c * d)

    style_img = torch.rand(1, 3, 8, 8)
    target_gram = gram_matrix(features(style_img)).detach()
    input_img = torch.rand(1, 3, 8, 8).requires_grad_(True)
    optimizer = optim.LBFGS([input_img])
    history = []
    run = [0]
    while run[0] <= 30:

        def closure():
            with torch.no_grad():
                input_img.clamp_(0, 1)
            optimizer.zero_grad()
            loss = F.mse_loss(gram_matrix(features(input_img)), target_gram) * 1e4
            loss.backward()
            run[0] += 1
            history.append(loss.item())
            return loss

        optimizer.step(closure)
    with torch.no_grad():
        input_img.data.clamp_(0, 1)
    assert history[-1] < history[0] * 0.1
    assert all(p.grad is None for p in features.parameters())


def test_fgsm_adversarial_examples():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 2))
    data = torch.rand(16, 1, 4, 4)
    target = (data.mean(dim=(1, 2, 3)) > 0.5).long()
    opt = optim.SGD(model.parameters(), lr=1.0)
    for _ in range(100):
        opt.zero_grad()
        F.cross_entropy(model(data), target).backward()
        opt.step()
    model.eval()

    def fgsm_attack(image, epsilon, data_grad):
        perturbed = image + epsilon * data_grad.sign()
        return torch.clamp(perturbed, 0, 1)

    data.requires_grad = True
    output = model(data)
    init_pred = output.max(1, keepdim=True)[1]
    loss = F.nll_loss(F.log_softmax(output, dim=1), target)
    model.zero_grad()
    loss.backward()
    data_grad = data.grad.data
    perturbed = fgsm_attack(data, 0.3, data_grad)
    final_pred = model(perturbed).max(1, keepdim=True)[1]
    correct_before = init_pred.eq(target.view_as(init_pred)).sum().item()
    correct_after = final_pred.eq(target.view_as(final_pred)).sum().item()
    assert correct_after < correct_before
    adv_ex = perturbed.squeeze().detach().cpu().numpy()
    assert adv_ex.shape == (16, 4, 4) and adv_ex.min() >= 0 and adv_ex.max() <= 1


def test_graph_message_passing_with_index_add_and_sparse_adjacency():
    torch.manual_seed(0)
    num_nodes = 6
    edge_index = torch.tensor([[0, 1, 1, 2, 3, 4, 4, 5], [1, 0, 2, 1, 4, 3, 5, 4]])
    x = torch.randn(num_nodes, 4)
    y = torch.tensor([0, 0, 0, 1, 1, 1])

    class GCNLayer(nn.Module):
        def __init__(self, i, o):
            super().__init__()
            self.lin = nn.Linear(i, o)

        def forward(self, x, edge_index):
            src, dst = edge_index
            deg = torch.zeros(x.size(0)).index_add_(0, dst, torch.ones(dst.size(0))) + 1
            h = self.lin(x)
            out = torch.zeros_like(h).index_add_(0, dst, h[src] / deg[dst].unsqueeze(-1))
            return out + h / deg.unsqueeze(-1)

    class GCN(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = GCNLayer(4, 16)
            self.conv2 = GCNLayer(16, 2)

        def forward(self, x, edge_index):
            x = F.relu(self.conv1(x, edge_index))
            x = F.dropout(x, p=0.5, training=self.training)
            return F.log_softmax(self.conv2(x, edge_index), dim=1)

    model = GCN()
    optimizer = optim.Adam(model.parameters(), lr=0.01, weight_decay=5e-4)
    train_mask = torch.tensor([True, False, True, True, False, True])
    for _ in range(100):
        model.train()
        optimizer.zero_grad()
        out = model(x, edge_index)
        F.nll_loss(out[train_mask], y[train_mask]).backward()
        optimizer.step()
    model.eval()
    pred = model(x, edge_index).argmax(dim=1)
    assert int((pred[train_mask] == y[train_mask]).sum()) == int(train_mask.sum())

    adj = torch.sparse_coo_tensor(edge_index, torch.ones(edge_index.size(1)), (num_nodes, num_nodes))
    dense = adj.to_dense()
    agg = torch.sparse.mm(adj, x)
    torch.testing.assert_close(agg, dense @ x)
    scattered = torch.zeros(num_nodes, 4).scatter_add_(
        0, edge_index[1].unsqueeze(-1).expand(-1, 4), x[edge_index[0]]
    )
    torch.testing.assert_close(scattered, agg)


def test_vq_vae_straight_through_and_kmeans():
    torch.manual_seed(0)
    codebook = nn.Embedding(8, 4)
    codebook.weight.data.uniform_(-1 / 8, 1 / 8)
    encoder = nn.Linear(6, 4)
    decoder = nn.Linear(4, 6)
    params = [*encoder.parameters(), *decoder.parameters(), *codebook.parameters()]
    optimizer = optim.Adam(params, lr=1e-2)
    data = torch.randn(128, 6)
    losses = []
    for _ in range(60):
        z = encoder(data)
        distances = (
            z.pow(2).sum(1, keepdim=True) - 2 * z @ codebook.weight.t() + codebook.weight.pow(2).sum(1)
        )
        indices = torch.argmin(distances, dim=1)
        quantized = codebook(indices)
        codebook_loss = F.mse_loss(quantized, z.detach())
        commitment = F.mse_loss(z, quantized.detach())
        quantized_st = z + (quantized - z).detach()
        recon_loss = F.mse_loss(decoder(quantized_st), data)
        loss = recon_loss + codebook_loss + 0.25 * commitment
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(recon_loss.item())
    assert losses[-1] < losses[0]
    assert encoder.weight.grad is not None and encoder.weight.grad.abs().sum() > 0
    one_hot = F.one_hot(indices, 8).float()
    avg_probs = one_hot.mean(0)
    perplexity = torch.exp(-torch.sum(avg_probs * torch.log(avg_probs + 1e-10)))
    assert 1 <= perplexity.item() <= 8

    # k-means on the encodings
    points = torch.cat([torch.randn(50, 2) + 4, torch.randn(50, 2) - 4])
    centroids = points[torch.randperm(100)[:2]].clone()
    for _ in range(10):
        assign = torch.cdist(points, centroids).argmin(dim=1)
        sums = torch.zeros_like(centroids).index_add_(0, assign, points)
        counts = torch.bincount(assign, minlength=2).clamp(min=1).unsqueeze(1)
        centroids = sums / counts
    assert sorted(torch.round(centroids[:, 0]).tolist()) == [-4.0, 4.0]


def test_gradient_accumulation_ema_and_early_stopping():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 1))
    ema = copy.deepcopy(model)
    for p in ema.parameters():
        p.requires_grad_(False)
    optimizer = optim.SGD(model.parameters(), lr=0.05)
    x = torch.randn(64, 4)
    y = (x**2).sum(1, keepdim=True)
    accum_steps = 4
    with torch.no_grad():
        initial_loss = F.mse_loss(model(x), y).item()
    best_loss, best_state, patience, bad_epochs = float("inf"), None, 3, 0
    for _epoch in range(30):
        optimizer.zero_grad()
        for i, (xb, yb) in enumerate(zip(x.chunk(8), y.chunk(8))):
            loss = F.mse_loss(model(xb), yb) / accum_steps
            loss.backward()
            if (i + 1) % accum_steps == 0:
                optimizer.step()
                optimizer.zero_grad()
                with torch.no_grad():
                    for ema_p, p in zip(ema.parameters(), model.parameters()):
                        ema_p.mul_(0.9).add_(p.detach(), alpha=0.1)
        with torch.no_grad():
            val = F.mse_loss(model(x), y).item()
        if val < best_loss - 1e-4:
            best_loss, bad_epochs = val, 0
            best_state = copy.deepcopy(model.state_dict())
        else:
            bad_epochs += 1
            if bad_epochs >= patience:
                break
    model.load_state_dict(best_state)
    with torch.no_grad():
        assert abs(F.mse_loss(model(x), y).item() - best_loss) < 1e-5
        assert F.mse_loss(ema(x), y).item() < initial_loss
    from ember.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

    averaged = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(0.99))
    averaged.update_parameters(model)
    assert averaged(x).shape == (64, 1)


def test_physics_informed_second_derivatives_and_mixup():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(1, 16), nn.Tanh(), nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 1))
    optimizer = optim.Adam(net.parameters(), lr=1e-2)
    # solve u'' = -u on [0, pi] with u(0) = 0, u'(0) = 1, i.e. u = sin
    x = torch.linspace(0, math.pi, 32).view(-1, 1).requires_grad_(True)
    x0 = torch.zeros(1, 1, requires_grad=True)
    losses = []
    for _ in range(150):
        u = net(x)
        du = torch.autograd.grad(u, x, torch.ones_like(u), create_graph=True)[0]
        d2u = torch.autograd.grad(du, x, torch.ones_like(du), create_graph=True)[0]
        u0 = net(x0)
        du0 = torch.autograd.grad(u0.sum(), x0, create_graph=True)[0]
        loss = (d2u + u).pow(2).mean() + u0.pow(2).sum() + (du0 - 1).pow(2).sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.1 * losses[0]

    # mixup
    model = nn.Linear(4, 3)
    criterion = nn.CrossEntropyLoss()
    inputs, targets = torch.randn(8, 4), torch.randint(0, 3, (8,))
    lam = float(np.random.beta(0.4, 0.4))
    index = torch.randperm(inputs.size(0))
    mixed = lam * inputs + (1 - lam) * inputs[index, :]
    out = model(mixed)
    loss = lam * criterion(out, targets) + (1 - lam) * criterion(out, targets[index])
    loss.backward()
    assert model.weight.grad.shape == (3, 4)
