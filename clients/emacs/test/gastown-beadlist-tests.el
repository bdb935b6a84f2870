;;; gastown-beadlist-tests.el --- ERT tests of the bead list, bulk edits and dependency views  -*- lexical-binding: t -*-

;;; Commentary:

;; Against the real `gastown-server --stdio' on a real town (helpers
;; from gastown-tests.el): the list's search, presets, sort, paging and
;; show-closed toggle; marks and bulk changes (all or nothing); edits in
;; place; the dependency tree and graph; and live updates when another
;; process (an agent's bd) changes a bead.

;;; Code:

(require 'ert)
(require 'cl-lib)
(require 'gastown-beadlist)

(declare-function gastown-test-bead "gastown-tests" (town title &rest args))
(declare-function gastown-test-sh "gastown-tests" (town program &rest args))
(declare-function gastown-test-wait-for "gastown-tests" (pred &optional timeout what))
(declare-function gastown-test-buffer-matches "gastown-tests" (buf regexp))
(declare-function gastown-test-buffer-text "gastown-tests" (buf))

(defun gastown-beadlist-test--ids (buf)
  "Return the bead ids BUF's list shows, in order."
  (with-current-buffer buf
    (mapcar (lambda (b) (plist-get b :id)) gastown-beadlist--beads)))

(defun gastown-beadlist-test--wait-ids (buf ids what)
  "Wait until BUF shows exactly IDS (in order); WHAT names the wait."
  (gastown-test-wait-for
   (lambda () (and (equal (gastown-beadlist-test--ids buf) ids)
                   (cl-every (lambda (id) (gastown-test-buffer-matches buf (regexp-quote id))) ids)))
   10 what))

(defun gastown-beadlist-test--goto (buf id)
  "Move point in BUF to bead ID's line."
  (with-current-buffer buf
    (goto-char (or (gastown-find-property 'gastown-bead id) (ert-fail (format "no line for %s" id))))))

(defun gastown-beadlist-test--show (town id)
  "Return bead ID of TOWN as the server has it."
  (gastown-request 'bead/show (list :id id) town))

(ert-deftest gastown-server-beadlist-search-presets-sort-pages-and-push ()
  (gastown-test-with-town town
    (let* ((a (gastown-test-bead town "Fix the parser" "-p" "1" "-l" "ui,core"))
           (b (gastown-test-bead town "Write the docs" "-p" "3" "-a" "overseer"))
           (c (gastown-test-bead town "Ship the parser" "-p" "2" "--deps" a))
           (buf (gastown-beadlist town)))
      ;; Default: open work by priority, with labels, range and header.
      (gastown-beadlist-test--wait-ids buf (list a c b) "the open beads by priority")
      (should (gastown-test-buffer-matches buf "Beads (1-3 of 3)"))
      (should (gastown-test-buffer-matches
               buf (concat "^  " (regexp-quote a) " +P1 open +task +Fix the parser  #core #ui$")))
      (with-current-buffer buf
        (should (string-match-p "\\[open\\] sort priority" (gastown-beadlist--header)))
        (gastown-beadlist-search "PARSER")
        (gastown-beadlist-test--wait-ids buf (list a c) "the search to narrow the list")
        (gastown-beadlist-search "no such words")
        (gastown-test-wait-for (lambda () (gastown-test-buffer-matches buf "No bead matches"))
                               10 "the empty search to say so")
        (gastown-beadlist-search "")
        (gastown-beadlist-set-preset "blocked")
        (gastown-beadlist-test--wait-ids buf (list c) "the blocked preset")
        (gastown-beadlist-set-preset "ready")
        (gastown-beadlist-test--wait-ids buf (list a b) "the ready preset")
        (gastown-beadlist-set-preset "mine")
        (gastown-beadlist-test--wait-ids buf (list b) "the mine preset")
        (gastown-beadlist-set-preset "open")
        (gastown-beadlist-set-sort "created")
        (gastown-beadlist-test--wait-ids buf (list a b c) "created order")
        (gastown-beadlist-reverse)
        (gastown-beadlist-test--wait-ids buf (list c b a) "reversed order")
        (gastown-beadlist-reverse)
        (gastown-beadlist-filter-label "ui")
        (gastown-beadlist-test--wait-ids buf (list a) "the label filter")
        (gastown-beadlist-clear-filters)
        ;; Pages of two.
        (setq-local gastown-beadlist-page-size 2)
        (gastown-beadlist-refresh)
        (gastown-beadlist-test--wait-ids buf (list a b) "the first page")
        (should (gastown-test-buffer-matches buf "Beads (1-2 of 3)"))
        (gastown-beadlist-next-page)
        (gastown-beadlist-test--wait-ids buf (list c) "the second page")
        (should (gastown-test-buffer-matches buf "Beads (3-3 of 3)"))
        (should-error (gastown-beadlist-next-page) :type 'user-error)
        (gastown-beadlist-previous-page)
        (gastown-beadlist-test--wait-ids buf (list a b) "the first page again")
        (setq-local gastown-beadlist-page-size 500)
        (gastown-beadlist-refresh)
        (gastown-beadlist-test--wait-ids buf (list a b c) "one page again"))
      ;; An agent closes a bead from its own process: the list follows by push.
      (gastown-test-sh town "bd" "--actor" "gastown/polecats/nux" "close" b)
      (gastown-beadlist-test--wait-ids buf (list a c) "the closed bead to leave the list")
      (with-current-buffer buf (gastown-beadlist-toggle-closed))
      (gastown-beadlist-test--wait-ids buf (list a b c) "closed beads shown")
      (should (gastown-test-buffer-matches buf (concat (regexp-quote b) " +P3 closed")))
      ;; A new bead from outside shows up too.
      (let ((d (gastown-test-bead town "Made by an agent" "-p" "0")))
        (gastown-beadlist-test--wait-ids buf (list a b c d) "the new bead by push")))))

(ert-deftest gastown-server-beadlist-marks-bulk-changes-all-or-nothing ()
  (gastown-test-with-town town
    (let* ((a (gastown-test-bead town "One" "-l" "old"))
           (b (gastown-test-bead town "Two" "-l" "old"))
           (c (gastown-test-bead town "Three"))
           (buf (gastown-beadlist town)))
      (gastown-beadlist-test--wait-ids buf (list a b c) "the beads")
      (with-current-buffer buf
        ;; Mark with m (it moves down), like dired.
        (gastown-beadlist-test--goto buf a)
        (gastown-beadlist-mark)
        (should (equal (gastown-beadlist-bead-at-point) b))
        (gastown-beadlist-mark)
        (should (gastown-test-buffer-matches buf (concat "^\\* " (regexp-quote a))))
        (should (equal (gastown-beadlist-marked) (list a b)))
        (should (string-match-p "2 marked" (gastown-beadlist--header)))
        (gastown-beadlist-set-status (gastown-beadlist-marked) "in_progress")
        (should (equal (mapcar (lambda (id) (plist-get (gastown-beadlist-test--show town id) :status))
                               (list a b c))
                       '("in_progress" "in_progress" "open")))
        ;; Marks are cleared after a change, and the list shows it by itself.
        (should (equal (hash-table-count gastown-beadlist--marks) 0))
        (gastown-test-wait-for
         (lambda () (gastown-test-buffer-matches buf (concat (regexp-quote b) " +P2 in_progress")))
         10 "the bulk status in the list")
        ;; Labels: added where missing, removed where present.
        (gastown-beadlist-add-label (list a b c) "ui")
        (gastown-beadlist-remove-label (list a b c) "old")
        (dolist (id (list a b c))
          (should (equal (append (plist-get (gastown-beadlist-test--show town id) :labels) nil)
                         '("ui"))))
        (gastown-beadlist-set-priority (list a c) 0)
        (gastown-beadlist-set-assignee (list c) "gastown/crew/max")
        (should (equal (plist-get (gastown-beadlist-test--show town c) :priority) 0))
        (should (equal (plist-get (gastown-beadlist-test--show town c) :assignee) "gastown/crew/max"))
        ;; A refusal changes nothing and says why in one line.
        (let ((err (should-error (gastown-beadlist-set-status (list a "gt-ghost") "blocked")
                                 :type 'user-error)))
          (should (string-match-p "\\`Gastown: no bead gt-ghost\\'" (cadr err))))
        (should (equal (plist-get (gastown-beadlist-test--show town a) :status) "in_progress"))
        ;; Closing several (asked first interactively).
        (gastown-beadlist-close (list a b) "batch done")
        (should (equal (plist-get (gastown-beadlist-test--show town b) :close_reason) "batch done"))
        (gastown-beadlist-test--wait-ids buf (list c) "the closed beads to leave the list")))))

(ert-deftest gastown-server-beadlist-edit-in-place-and-create ()
  (gastown-test-with-town town
    (let* ((a (gastown-test-bead town "Old title" "-l" "x,y"))
           (buf (gastown-beadlist town)))
      (gastown-beadlist-test--wait-ids buf (list a) "the bead")
      (with-current-buffer buf
        (gastown-beadlist-edit a "title" "New title")
        (gastown-beadlist-edit a "labels" "y, z")
        (gastown-beadlist-edit a "priority" "4")
        (gastown-beadlist-edit a "assignee" "mayor")
        (let ((bead (gastown-beadlist-test--show town a)))
          (should (equal (plist-get bead :title) "New title"))
          (should (equal (append (plist-get bead :labels) nil) '("y" "z")))
          (should (equal (plist-get bead :priority) 4))
          (should (equal (plist-get bead :assignee) "mayor")))
        (gastown-test-wait-for
         (lambda () (gastown-test-buffer-matches buf "P4 open +task +mayor +New title  #y #z"))
         10 "the edits in the list")
        ;; Refused: an empty title, its reason in one line; the bead is unchanged.
        (let ((err (should-error (gastown-beadlist-edit a "title" "  ") :type 'user-error)))
          (should (string-match-p "\\`Gastown: title must not be empty\\'" (cadr err))))
        (let ((id (gastown-beadlist-create "Brand new" "bug" 1 '("ui"))))
          (let ((bead (gastown-beadlist-test--show town id)))
            (should (equal (list (plist-get bead :issue_type) (plist-get bead :priority)
                                 (append (plist-get bead :labels) nil))
                           '("bug" 1 ("ui")))))
          (gastown-test-wait-for
           (lambda () (member id (gastown-beadlist-test--ids buf))) 10 "the new bead in the list")))
      ;; The bead view has the verbs too.
      (let ((view (gastown-bead a town)))
        (with-current-buffer view
          (should (eq (key-binding (kbd "e")) #'gastown-beadlist-edit))
          (should (equal (gastown-beadlist--targets) (list a))))))))

(ert-deftest gastown-server-bead-deps-tree-and-graph-update-by-push ()
  (gastown-test-with-town town
    (let* ((base (gastown-test-bead town "Base"))
           (mid (gastown-test-bead town "Middle" "--deps" base))
           (top (gastown-test-bead town "Top" "--deps" (concat mid ",related:" base)))
           (tree (gastown-bead-deps mid town))
           (graph (gastown-bead-graph mid town)))
      (should (gastown-test-buffer-matches tree "Blockers (1)"))
      (should (gastown-test-buffer-matches
               tree (concat "<- blocks +" (regexp-quote base) " +open +Base  BLOCKING")))
      (should (gastown-test-buffer-matches tree "Dependents (1)"))
      (should (gastown-test-buffer-matches tree (concat "-> blocks +" (regexp-quote top) " +open +Top")))
      (with-current-buffer tree
        ;; Each node is a section: it collapses and expands.
        (goto-char (gastown-find-property 'gastown-bead top))
        (should (eq (oref (magit-current-section) type) 'gastown-dep-node))
        (should (equal (oref (magit-current-section) value) top)))
      ;; The graph: blockers left of what they block, edges listed.
      (let ((text (gastown-test-buffer-text graph)))
        (should (string-match-p (concat "\\[ " (regexp-quote base) " open *\\] --> \\[\\*"
                                        (regexp-quote mid) " open *\\] --> \\[ "
                                        (regexp-quote top))
                                text))
        (should (string-match-p (concat (regexp-quote base) " --blocks--> " (regexp-quote mid)
                                        "  (blocking)")
                                text))
        (should-not (string-match-p "related" text)))
      ;; Non-blocking links show, not as blockers.
      (should (gastown-test-buffer-matches
               (gastown-bead-deps top town)
               (concat "<- related +" (regexp-quote base) " +open +Base$")))
      ;; The SVG picture has a box and a label per bead.
      (let ((svg (with-temp-buffer
                   (svg-print (gastown-bead-graph-svg
                               (plist-get (with-current-buffer graph gastown-bead-deps--data) :graph)))
                   (buffer-string))))
        (should (= 3 (cl-count-if (lambda (_) t) (split-string svg "<rect" t) :start 1)))
        (dolist (id (list base mid top))
          (should (string-match-p (regexp-quote id) svg))))
      ;; The blocker is closed elsewhere: both buffers follow by push.
      (gastown-test-sh town "bd" "close" base)
      (gastown-test-wait-for
       (lambda () (gastown-test-buffer-matches tree (concat (regexp-quote base) " +closed +Base$")))
       10 "the tree to show the closed blocker")
      (gastown-test-wait-for
       (lambda () (and (gastown-test-buffer-matches graph (concat (regexp-quote base) " closed"))
                       (gastown-test-buffer-matches
                        graph (concat (regexp-quote base) " --blocks--> " (regexp-quote mid) "$"))))
       10 "the graph to show the closed blocker"))))

(defun gastown-beadlist-test--refusal (fn)
  "Call FN, which must signal a `user-error'; return its one-line message."
  (let ((msg (cadr (should-error (funcall fn) :type 'user-error))))
    (should-not (string-match-p "\n" msg))
    msg))

(ert-deftest gastown-server-bead-dep-add-and-remove-from-the-buffers ()
  (gastown-test-with-town town
    (let* ((track (gastown-test-bead town "Lay the track"))
           (train (gastown-test-bead town "Run the train"))
           (tree (gastown-bead-deps train town))
           (list-buf (gastown-beadlist town))
           (shown (gastown-bead train town)))
      (should (gastown-test-buffer-matches tree "Blockers (0)"))
      (with-current-buffer list-buf (gastown-beadlist-set-preset "ready"))
      (gastown-test-wait-for
       (lambda () (equal (sort (gastown-beadlist-test--ids list-buf) #'string<) (sort (list track train) #'string<)))
       10 "the ready list to show both beads")
      ;; Add from the dependency buffer: it, the bead view and the list follow by push.
      (with-current-buffer tree
        (should (equal (gastown-bead-dep--subject) train))
        (should (string-match-p (concat (regexp-quote train) " now depends on " (regexp-quote track) " (blocks)")
                                (gastown-bead-dep-add train track nil town))))
      (gastown-test-wait-for
       (lambda () (gastown-test-buffer-matches
                   tree (concat "<- blocks +" (regexp-quote track) " +open +Lay the track  BLOCKING")))
       10 "the tree to show the new blocker")
      (gastown-test-wait-for
       (lambda () (gastown-test-buffer-matches shown (concat "blocks " (regexp-quote track))))
       10 "the bead view to list the dependency")
      (gastown-test-wait-for
       (lambda () (equal (gastown-beadlist-test--ids list-buf) (list track)))
       10 "the ready list to drop the blocked bead")
      ;; Refusals: the server's reason, one line; nothing written.
      (should (string-match-p "cannot depend on itself"
                              (gastown-beadlist-test--refusal (lambda () (gastown-bead-dep-add track track nil town)))))
      (should (string-match-p (concat "would create a cycle: " (regexp-quote track) " -> " (regexp-quote train))
                              (gastown-beadlist-test--refusal (lambda () (gastown-bead-dep-add track train nil town)))))
      (should (string-match-p "no bead 'gt-nosuch'"
                              (gastown-beadlist-test--refusal
                               (lambda () (gastown-bead-dep-add train "gt-nosuch" "related" town)))))
      (should (string-match-p "invalid dependency type 'sideways'"
                              (gastown-beadlist-test--refusal
                               (lambda () (gastown-bead-dep-add track train "sideways" town)))))
      (should (string-match-p (concat (regexp-quote track) " does not depend on " (regexp-quote train))
                              (gastown-beadlist-test--refusal
                               (lambda () (gastown-bead-dep-remove track train town)))))
      ;; Remove interactively from the tree, point on the blocker: it is the default pick.
      (with-current-buffer tree
        (goto-char (gastown-find-property 'gastown-bead track))
        (cl-letf (((symbol-function 'completing-read)
                   (lambda (_prompt coll &optional _pred _req _init _hist def &rest _)
                     (should (member def coll))
                     def)))
          (call-interactively #'gastown-bead-dep-remove)))
      (gastown-test-wait-for
       (lambda () (gastown-test-buffer-matches tree "Nothing blocks this bead"))
       10 "the tree to show the blocker gone")
      (gastown-test-wait-for
       (lambda () (not (gastown-test-buffer-matches shown "^Dependencies")))
       10 "the bead view to drop the dependency")
      (gastown-test-wait-for
       (lambda () (member train (gastown-beadlist-test--ids list-buf)))
       10 "the ready list to show the bead ready again")
      (with-current-buffer shown
        (should (string-match-p "has no dependencies to remove"
                                (gastown-beadlist-test--refusal
                                 (lambda () (call-interactively #'gastown-bead-dep-remove)))))))))

(ert-deftest gastown-beadlist-reachable-from-dispatch-and-verbs ()
  (should (transient-get-suffix 'gastown-dispatch 'gastown-beadlist))
  (should (get 'gastown-bead-verbs 'transient--prefix))
  (dolist (cmd '(gastown-beadlist-search gastown-beadlist-set-preset gastown-beadlist-set-sort
                 gastown-beadlist-toggle-closed gastown-beadlist-mark gastown-beadlist-set-status
                 gastown-beadlist-add-label gastown-beadlist-remove-label gastown-beadlist-close
                 gastown-beadlist-edit gastown-beadlist-create gastown-beadlist-deps
                 gastown-beadlist-graph gastown-bead-dep-add gastown-bead-dep-remove))
    (should (transient-get-suffix 'gastown-bead-verbs cmd))
    (should (commandp cmd)))
  (should (transient-get-suffix 'gastown-dispatch 'gastown-bead-verbs))
  (dolist (map (list gastown-beadlist-mode-map gastown-bead-mode-map gastown-bead-deps-mode-map
                     gastown-bead-graph-mode-map))
    (should (eq (lookup-key map (kbd "b")) #'gastown-bead-dep-add))
    (should (eq (lookup-key map (kbd "B")) #'gastown-bead-dep-remove))))

(provide 'gastown-beadlist-tests)

;;; gastown-beadlist-tests.el ends here
