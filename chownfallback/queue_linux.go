package chownfallback

import "sync"

// queue holds the directories still to be read: one stack per worker. A
// worker pops from the top of its own stack, so it goes depth first
// through what it just listed; an idle worker steals from the bottom of
// the longest other stack, the oldest and shallowest directory there, so
// that workers end up in distant parts of the tree. That matters for
// speed: inodes listed together were mostly created together and share
// on-disk inode clusters, and two workers chowning inodes of one cluster
// serialize on its buffer lock (XFS: xfs_buf_lock in
// xfs_inode_item_precommit).
type queue struct {
	mu      sync.Mutex
	cond    sync.Cond
	stacks  [][]job
	pending int // jobs in all stacks
	busy    int // workers working on a job
	waiting int // workers waiting for one
}

// hungry reports whether a worker waits for work and none is queued for
// it. Called once per getdents batch, so the lock costs little.
func (q *queue) hungry() bool {
	q.mu.Lock()
	w := q.waiting > 0 && q.pending == 0
	q.mu.Unlock()
	return w
}

func (q *queue) init(workers int) {
	q.cond.L = &q.mu
	q.stacks = make([][]job, workers)
}

func (q *queue) push(worker int, j job) {
	q.mu.Lock()
	q.stacks[worker] = append(q.stacks[worker], j)
	q.pending++
	q.mu.Unlock()
	q.cond.Signal()
}

// pop waits for a job for worker; it returns false when every stack is
// empty and no worker is busy, so none can add to one.
func (q *queue) pop(worker int) (job, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for q.pending == 0 {
		if q.busy == 0 {
			return job{}, false
		}
		q.waiting++
		q.cond.Wait()
		q.waiting--
	}
	q.pending--
	q.busy++
	if s := q.stacks[worker]; len(s) > 0 {
		j := s[len(s)-1]
		s[len(s)-1] = job{}
		q.stacks[worker] = s[:len(s)-1]
		return j, true
	}
	victim := 0
	for i, s := range q.stacks {
		if len(s) > len(q.stacks[victim]) {
			victim = i
		}
	}
	s := q.stacks[victim]
	j := s[0]
	s[0] = job{}
	q.stacks[victim] = s[1:]
	return j, true
}

func (q *queue) done() {
	q.mu.Lock()
	q.busy--
	if q.busy == 0 && q.pending == 0 {
		q.cond.Broadcast()
	}
	q.mu.Unlock()
}
