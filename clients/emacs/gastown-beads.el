;;; gastown-beads.el --- Bead view, slinging work and the live feed  -*- lexical-binding: t -*-

;; Copyright (C) 2026 The gastown authors

;; This file is not part of GNU Emacs.

;;; Commentary:

;; `gastown-bead' shows one bead (updated when the feed says it
;; changed), `gastown-sling' puts a bead or formula on a worker's hook
;; with completion of beads, formulas and targets, and `gastown-feed'
;; shows the town's activity as it happens.

;;; Code:

(require 'gastown)

(declare-function gastown-status-face "gastown-convoys" (status))

(defgroup gastown-beads nil
  "Beads, slinging and the feed."
  :group 'gastown)

;;;; Reading beads, formulas and targets

(defun gastown--annotated (items key fmt)
  "Return completion candidates from ITEMS (plists) keyed by KEY.
Each candidate carries its plist; FMT formats the annotation."
  (mapcar (lambda (it)
            (propertize (gastown-str (plist-get it key)) 'gastown-item it
                        'gastown-annotation (funcall fmt it)))
          items))

(defun gastown--completion-table (candidates category)
  "Return a completion table over CANDIDATES of CATEGORY with annotations."
  (lambda (string pred action)
    (if (eq action 'metadata)
        `(metadata (category . ,category)
                   (annotation-function
                    . ,(lambda (c)
                         (let ((cell (car (member c candidates))))
                           (and cell (concat "  " (get-text-property
                                                   0 'gastown-annotation cell)))))))
      (complete-with-action action candidates string pred))))

(defun gastown-bead-candidates (town &optional all)
  "Return bead ids of TOWN for completion: ready work, or ALL open beads."
  (gastown--annotated
   (gastown-result-items (gastown-request (if all 'bead/list 'bead/ready)
                                          (list :limit 1000) town)
                         :beads :items)
   :id (lambda (b) (format "%-11s %s" (gastown-str (plist-get b :status))
                           (gastown-str (plist-get b :title))))))

(defun gastown-formula-candidates (town)
  "Return formula names of TOWN for completion."
  (gastown--annotated
   (mapcar (lambda (f) (if (stringp f) (list :name f) f))
           (gastown-result-items (gastown-request 'formula/list nil town)
                                 :formulas :items))
   :name (lambda (f) (concat "formula  " (gastown-str (plist-get f :description))))))

(defcustom gastown-sling-offer-internal nil
  "Non-nil means the sling picker also offers molecule steps and patrol formulas.
They are a running workflow's own steps and the patrol roles' loops:
slinging one elsewhere is rarely meant, so by default they are hidden."
  :type 'boolean
  :group 'gastown)

(defun gastown-sling-candidates (town &optional internal)
  "Return the sling picker's offer for TOWN: ready work first, then formulas.
With INTERNAL, also molecule steps and patrol formulas, after the rest.
Each candidate carries its plist, with :kind \"bead\" or \"formula\"."
  (gastown--annotated
   (gastown-result-items (gastown-request 'sling/candidates
                                          (list :include_internal (if internal t :json-false))
                                          town)
                         :candidates)
   :id (lambda (c)
         (let ((why (gastown-str (plist-get c :why))))
           (concat (if (equal (plist-get c :kind) "formula")
                       "formula    "
                     (format "%-11s" (gastown-str (plist-get c :status))))
                   (gastown-str (plist-get c :title))
                   (if (string-empty-p why) "" (format "  [%s]" why)))))))

(defun gastown-target-candidates (town)
  "Return sling targets of TOWN: rigs and agents."
  (append
   (gastown--annotated
    (mapcar (lambda (r) (if (stringp r) (list :name r) r))
            (gastown-result-items (gastown-request 'rig/list nil town) :rigs :items))
    :name (lambda (_) "rig (spawns a polecat)"))
   (gastown--annotated
    (mapcar (lambda (a) (plist-put (copy-sequence a) :address
                                   (gastown-get a :address :id :name)))
            (gastown-result-items (gastown-request 'agent/list nil town) :agents :items))
    :address (lambda (a) (format "%s %s" (gastown-str (plist-get a :role))
                                 (gastown-str (gastown-get a :agent_state :state)))))))

(defun gastown-read-bead (prompt town &optional all)
  "Read a bead id with PROMPT from TOWN's ready beads (ALL: any open bead)."
  (let ((cands (gastown-bead-candidates town all)))
    (completing-read prompt (gastown--completion-table cands 'gastown-bead))))

;;;; Sling

;;;###autoload
(defun gastown-sling (what target &optional town formula vars)
  "Sling WHAT (a bead id) to TARGET (a rig or agent) in TOWN.
With FORMULA non-nil, WHAT names a formula: the server pours it and
slings its molecule.  A rig spawns a polecat for the work; loose work
gets a convoy.  VARS is a plist of formula variables (:name VALUE ...).
Interactively, complete ready work and formulas (see
`gastown-sling-offer-internal'), then rigs and agents.
Return the server's result (a plist naming the bead, convoy, agent,
polecat and session)."
  (interactive
   (let* ((town (gastown-current-town current-prefix-arg))
          (offered (gastown-sling-candidates town gastown-sling-offer-internal))
          (what (completing-read "Sling (bead or formula): "
                                 (gastown--completion-table offered 'gastown-sling)))
          (chosen (car (member what offered)))
          (formula (and chosen (equal (plist-get (get-text-property 0 'gastown-item chosen) :kind)
                                      "formula")))
          (target (gastown-read-target (format "Sling %s to: " what) town)))
     (list what target town formula)))
  (let* ((town (or town (gastown-current-town)))
         (params (append (list (if formula :formula :bead) what)
                         (and target (not (string-empty-p target)) (list :target target))
                         (and vars (list :vars vars))))
         (res (gastown-request 'sling params town)))
    (gastown-result "Gastown: %s" (gastown-sling-summary res what target))
    res))

(defun gastown-sling-summary (res what target)
  "Return one line saying where `sling' (result RES) put WHAT, slung to TARGET."
  (let* ((res (if (listp res) res nil))
         ;; The server sends "" for a field that does not apply.
         (field (lambda (&rest keys)
                  (let ((v (apply #'gastown-get res keys)))
                    (and (stringp v) (not (string-empty-p v)) v))))
         (bead (or (funcall field :bead) what))
         (formula (funcall field :formula))
         (agent (or (funcall field :agent :target :assignee) target))
         (session (funcall field :session))
         (status (funcall field :session_status))
         (convoy (funcall field :convoy :convoy_id)))
    (concat (format "slung %s to %s"
                    (if formula (format "%s (%s)" formula bead) bead) agent)
            (cond (session (format "; session %s%s" session
                                   (if status (concat " " status) "")))
                  (status (concat "; " status))
                  (t ""))
            (if convoy
                (format "; %s %s"
                        (if (eq (plist-get res :convoy_created) t) "new convoy" "convoy")
                        convoy)
              ""))))

(defun gastown-read-target (prompt town)
  "Read a sling target (a rig or an agent address) of TOWN with PROMPT."
  (completing-read prompt (gastown--completion-table (gastown-target-candidates town)
                                                     'gastown-target)))

;;;; Bead view

(defvar-local gastown-bead-id nil
  "Id of the bead the buffer shows.")

(defvar gastown-bead-mode-map
  (let ((map (make-sparse-keymap)))
    (set-keymap-parent map special-mode-map)
    (define-key map (kbd "g") #'gastown-bead-refresh)
    (define-key map (kbd "c") #'gastown-bead-close)
    (define-key map (kbd "s") #'gastown-bead-sling)
    (define-key map (kbd "S") #'gastown-bead-set-status)
    (define-key map (kbd "a") #'gastown-bead-assign)
    (define-key map (kbd "RET") #'gastown-bead-follow)
    map)
  "Keymap of `gastown-bead-mode'.")

(define-derived-mode gastown-bead-mode special-mode "Gastown-Bead"
  "Major mode showing one bead; it updates when the bead changes.

\\{gastown-bead-mode-map}"
  (setq-local header-line-format '(:eval (gastown-header-line)))
  (setq-local revert-buffer-function (lambda (&rest _) (gastown-bead-refresh))))

(defun gastown-bead--field (label value)
  "Insert a LABEL: VALUE line when VALUE is not empty."
  (let ((v (gastown-str value)))
    (unless (string-empty-p v)
      (insert (propertize (format "%-12s " (concat label ":")) 'face 'bold) v "\n"))))

(defun gastown-bead--text (label value)
  "Insert a titled block LABEL holding the text VALUE, when not empty."
  (let ((v (gastown-str value)))
    (unless (string-empty-p v)
      (insert "\n" (propertize label 'face 'bold) "\n" v "\n"))))

(defun gastown-bead--id-button (id)
  "Return ID as text that RET opens."
  (propertize id 'face 'link 'gastown-bead id 'mouse-face 'highlight
              'help-echo "RET: open this bead"))

(defun gastown-bead--render (bead)
  "Draw BEAD (a plist) in the current buffer, keeping point."
  (let ((inhibit-read-only t)
        (line (line-number-at-pos))
        (col (current-column))
        (status (gastown-str (plist-get bead :status))))
    (erase-buffer)
    (insert (propertize (gastown-str (plist-get bead :title)) 'face 'bold) "\n\n")
    (gastown-bead--field "Id" (plist-get bead :id))
    (gastown-bead--field "Status" (propertize status 'face (if (fboundp 'gastown-status-face)
                                                               (gastown-status-face status)
                                                             'default)))
    (gastown-bead--field "Type" (plist-get bead :issue_type))
    (gastown-bead--field "Priority" (let ((p (plist-get bead :priority)))
                                      (and p (format "P%s" p))))
    (gastown-bead--field "Assignee" (plist-get bead :assignee))
    (gastown-bead--field "Owner" (plist-get bead :owner))
    (gastown-bead--field "Sender" (plist-get bead :sender))
    (gastown-bead--field "Labels" (string-join (mapcar #'gastown-str
                                                       (gastown-seq (plist-get bead :labels)))
                                               ", "))
    (gastown-bead--field "Parent" (plist-get bead :parent))
    (gastown-bead--field "Created" (concat (gastown-time (plist-get bead :created_at))
                                           (if-let ((by (plist-get bead :created_by)))
                                               (concat " by " by) "")))
    (gastown-bead--field "Updated" (gastown-time (plist-get bead :updated_at)))
    (gastown-bead--field "Closed" (gastown-time (plist-get bead :closed_at)))
    (gastown-bead--field "Reason" (plist-get bead :close_reason))
    (gastown-bead--text "Description" (plist-get bead :description))
    (gastown-bead--text "Design" (plist-get bead :design))
    (gastown-bead--text "Acceptance" (plist-get bead :acceptance_criteria))
    (gastown-bead--text "Notes" (plist-get bead :notes))
    (let ((deps (gastown-seq (gastown-get bead :dependencies :deps))))
      (when deps
        (insert "\n" (propertize "Dependencies" 'face 'bold) "\n")
        (dolist (d deps)
          (let ((target (gastown-get d :depends_on_id :id)))
            (insert "  " (gastown-str (gastown-get d :type :dep_type)) " "
                    (gastown-bead--id-button (gastown-str target))
                    (if-let ((title (plist-get d :title))) (concat "  " title) "")
                    "\n")))))
    (let ((comments (gastown-seq (plist-get bead :comments))))
      (when comments
        (insert "\n" (propertize "Comments" 'face 'bold) "\n")
        (dolist (c comments)
          (insert (propertize (format "%s  %s\n" (gastown-str (plist-get c :author))
                                      (gastown-time (plist-get c :created_at)))
                              'face 'shadow)
                  (gastown-str (plist-get c :text)) "\n"))))
    (goto-char (point-min))
    (forward-line (1- line))
    (move-to-column col)))

;;;###autoload
(defun gastown-bead (id &optional town)
  "Show bead ID of TOWN in its own buffer and return the buffer."
  (interactive (let ((town (gastown-current-town current-prefix-arg)))
                 (list (gastown-read-bead "Bead: " town t) town)))
  (let* ((town (or town (gastown-current-town)))
         (bead (gastown-request 'bead/show (list :id id) town))
         (bead (or (plist-get bead :bead) bead))
         (buf (gastown-buffer "bead" town id)))
    (with-current-buffer buf
      (unless (derived-mode-p 'gastown-bead-mode)
        (gastown-bead-mode))
      (setq gastown-buffer-town town
            gastown-bead-id id)
      (gastown-bead--render bead))
    (when (called-interactively-p 'any)
      (pop-to-buffer buf))
    buf))

(defun gastown-bead-refresh ()
  "Fetch the bead again."
  (interactive)
  (let ((buf (current-buffer)))
    (gastown-async 'bead/show (list :id gastown-bead-id)
                   (lambda (bead)
                     (when (buffer-live-p buf)
                       (with-current-buffer buf
                         (gastown-bead--render (or (plist-get bead :bead) bead)))))
                   :town gastown-buffer-town)))

(defun gastown-bead-close (reason)
  "Close this bead with REASON."
  (interactive (list (read-string "Close reason: ")))
  (gastown-request 'bead/close (list :id gastown-bead-id :reason reason) gastown-buffer-town)
  (gastown-bead-refresh))

(defun gastown-bead-set-status (status)
  "Set this bead's STATUS."
  (interactive (list (completing-read "Status: " '("open" "in_progress" "blocked"
                                                   "deferred" "closed" "pinned")
                                      nil t)))
  (gastown-request 'bead/update (list :id gastown-bead-id :status status) gastown-buffer-town)
  (gastown-bead-refresh))

(defun gastown-bead-assign (assignee)
  "Set this bead's ASSIGNEE."
  (interactive (list (read-string "Assignee: ")))
  (gastown-request 'bead/update (list :id gastown-bead-id :assignee assignee)
                   gastown-buffer-town)
  (gastown-bead-refresh))

(defun gastown-bead-sling (target)
  "Sling this bead to TARGET."
  (interactive (list (completing-read
                      "Sling to: " (gastown--completion-table
                                    (gastown-target-candidates gastown-buffer-town)
                                    'gastown-target))))
  (gastown-sling gastown-bead-id target gastown-buffer-town))

(defun gastown-bead-follow ()
  "Open the bead whose id is at point."
  (interactive)
  (if-let ((id (get-text-property (point) 'gastown-bead)))
      (pop-to-buffer (gastown-bead id gastown-buffer-town))
    (user-error "No bead id at point")))

(defun gastown-beads--on-notification (town method params)
  "Refresh bead buffers of TOWN that feed event PARAMS (METHOD) touches."
  (when (eq method '$/gastown/event)
    (let* ((ev (or (plist-get params :event) params))
           (id (gastown-get ev :bead_id :issue_id)))
      (when id
        (dolist (buf (gastown-buffers-of 'gastown-bead-mode town))
          (with-current-buffer buf
            (when (equal gastown-bead-id id)
              (gastown-bead-refresh))))))))

(add-hook 'gastown-notification-functions #'gastown-beads--on-notification)

;;;; Feed

(defcustom gastown-feed-max-lines 2000
  "Lines a feed buffer keeps; older ones are dropped from the top.
A busy town writes thousands of events an hour (a feed buffer once
grew to 7,000 lines in 30 minutes)."
  :type 'integer
  :group 'gastown)

(defcustom gastown-feed-noise-kinds
  '("wisp_poured" "molecule_burned" "molecule_squashed" "heartbeat" "patrol_backoff")
  "Event kinds that are patrol bookkeeping.
They are hidden unless `gastown-feed-show-noise'."
  :type '(repeat string)
  :group 'gastown)

(defcustom gastown-feed-show-noise nil
  "Non-nil means feed buffers show patrol noise too.
Noise is the kinds in `gastown-feed-noise-kinds' and any event on a
wisp (an ephemeral patrol molecule and its steps)."
  :type 'boolean
  :group 'gastown)

(defvar-local gastown-feed-rig nil
  "When non-nil, the rig whose events this feed buffer shows.")

(defvar-local gastown-feed--rig-prefix nil
  "Bead id prefix of `gastown-feed-rig'.")

(defvar-local gastown-feed-kind nil
  "When non-nil, the one event kind this feed buffer shows.")

(defvar-local gastown-feed--history nil
  "Events from before this session (feed/recent), oldest first.")

(defcustom gastown-feed-history 200
  "Events of the ledger's recent past a feed buffer opens with.
Zero: only what happens while the buffer is open."
  :type 'integer
  :group 'gastown)

(defvar gastown-feed-mode-map
  (let ((map (make-sparse-keymap)))
    (set-keymap-parent map special-mode-map)
    (define-key map (kbd "RET") #'gastown-bead-follow)
    (define-key map (kbd "t") #'gastown-feed-toggle-noise)
    (define-key map (kbd "r") #'gastown-feed-filter-rig)
    (define-key map (kbd "k") #'gastown-feed-filter-kind)
    (define-key map (kbd "g") #'gastown-feed-redraw)
    map)
  "Keymap of `gastown-feed-mode'.")

(define-derived-mode gastown-feed-mode special-mode "Gastown-Feed"
  "Major mode showing a town's activity as it happens.
Patrol noise is hidden (\\[gastown-feed-toggle-noise] shows it), \\[gastown-feed-filter-rig]
shows one rig only, \\[gastown-feed-filter-kind] one kind of event, and the buffer keeps
`gastown-feed-max-lines' lines.

\\{gastown-feed-mode-map}"
  (setq-local header-line-format '(:eval (gastown-feed--header)))
  (buffer-disable-undo))

(defun gastown-feed--header ()
  "Return the feed's header line: the town and the filters in force."
  (concat (gastown-header-line)
          (if gastown-feed-show-noise "  [patrol noise shown]" "  [patrol noise hidden: t]")
          (if gastown-feed-rig (format "  [rig %s: r]" gastown-feed-rig) "")
          (if gastown-feed-kind (format "  [kind %s: k]" gastown-feed-kind) "")))

(defun gastown-feed-noise-p (event)
  "Return non-nil if EVENT is patrol bookkeeping rather than news."
  (let ((kind (gastown-str (gastown-get event :kind :type)))
        (bead (gastown-str (gastown-get event :bead_id :issue_id)))
        (payload (plist-get event :payload)))
    (or (member kind gastown-feed-noise-kinds)
        (string-match-p "-wisp-" bead)
        (and (listp payload) (eq (plist-get payload :ephemeral) t)))))

(defun gastown-feed--shown-p (event)
  "Return non-nil if EVENT passes the current buffer's filters."
  (and (or gastown-feed-show-noise (not (gastown-feed-noise-p event)))
       (or (null gastown-feed-kind)
           (equal gastown-feed-kind (gastown-str (gastown-get event :kind :type))))
       (or (null gastown-feed-rig)
           (let ((actor (gastown-str (plist-get event :actor)))
                 (bead (gastown-str (gastown-get event :bead_id :issue_id))))
             (or (string-prefix-p (concat gastown-feed-rig "/") actor)
                 (and gastown-feed--rig-prefix
                      (string-prefix-p (concat gastown-feed--rig-prefix "-") bead)))))))

(defun gastown-feed--line (event)
  "Return the display line of feed EVENT."
  (let ((bead (gastown-get event :bead_id :issue_id))
        (payload (plist-get event :payload)))
    (concat (propertize (gastown-time (gastown-get event :at :ts :created_at)) 'face 'shadow)
            " " (propertize (format "%-22s" (gastown-str (plist-get event :actor)))
                            'face 'font-lock-variable-name-face)
            " " (format "%-16s" (gastown-str (gastown-get event :kind :type)))
            " " (if bead (gastown-bead--id-button bead) "")
            (let ((title (and (listp payload) (gastown-get payload :title :subject))))
              (if title (concat "  " (gastown-str title)) ""))
            "\n")))

(defun gastown-feed--trim ()
  "Drop the oldest lines beyond `gastown-feed-max-lines'.
Trimming waits for a tenth more lines than the cap, so that a steady
stream does not pay a deletion per event."
  (when (> gastown-feed-max-lines 0)
    (let ((excess (- (count-lines (point-min) (point-max)) gastown-feed-max-lines)))
      (when (> excess (max 1 (/ gastown-feed-max-lines 10)))
        (let ((inhibit-read-only t))
          (save-excursion
            (goto-char (point-min))
            (forward-line excess)
            (delete-region (point-min) (point))))))))

(defun gastown-feed--append (events)
  "Append the EVENTS that pass the filters to the feed, following the tail."
  (let* ((inhibit-read-only t)
         (tailing (cl-loop for w in (get-buffer-window-list nil nil t)
                           when (= (window-point w) (point-max)) collect w))
         (at-end (= (point) (point-max))))
    (save-excursion
      (goto-char (point-max))
      (dolist (ev events)
        (when (gastown-feed--shown-p ev)
          (insert (gastown-feed--line ev)))))
    (gastown-feed--trim)
    (when at-end (goto-char (point-max)))
    (dolist (w tailing) (set-window-point w (point-max)))))

(defun gastown-feed-redraw ()
  "Draw the feed again from the events remembered, with the current filters."
  (interactive)
  (let ((inhibit-read-only t))
    (erase-buffer)
    (gastown-feed--append (gastown-feed--events))
    (goto-char (point-max))))

(defun gastown-feed--events ()
  "Return the events this buffer draws: its history, then the session's."
  (let* ((live (mapcar (lambda (e) (or (plist-get e :event) e))
                       (gastown-recent-events gastown-buffer-town)))
         (first (and live (gastown-event-id (car live)))))
    (append (if (integerp first)
                (seq-filter (lambda (e) (let ((id (gastown-event-id e)))
                                          (and (integerp id) (< id first))))
                            gastown-feed--history)
              gastown-feed--history)
            live)))

(defun gastown-feed--load-history (town)
  "Fetch TOWN's recent events (noise too: the filters are this buffer's)."
  (when (> gastown-feed-history 0)
    (condition-case err
        (setq gastown-feed--history
              (append (gastown-result-items
                       (gastown-request 'feed/recent
                                        (list :limit (min 5000 gastown-feed-history) :noise t)
                                        town)
                       :events)
                      nil))
      (user-error
       ;; An older server without feed/recent: only live events, said once in the log.
       (gastown--log town "!!" "feed/recent: %s" (error-message-string err))))))

(defun gastown-feed-filter-kind (kind)
  "Show only events of KIND in this feed buffer; with an empty KIND, every kind."
  (interactive
   (list (completing-read "Event kind (empty: all): "
                          (delete-dups (mapcar (lambda (e) (gastown-str (gastown-get e :kind :type)))
                                               (gastown-feed--events))))))
  (setq gastown-feed-kind (if (or (null kind) (string-empty-p kind)) nil kind))
  (gastown-feed-redraw))

(defun gastown-feed-toggle-noise ()
  "Show or hide patrol noise (wisps, burns, heartbeats) in this feed buffer."
  (interactive)
  (setq-local gastown-feed-show-noise (not gastown-feed-show-noise))
  (gastown-feed-redraw)
  (message "Gastown: patrol noise %s" (if gastown-feed-show-noise "shown" "hidden")))

(defun gastown-feed-filter-rig (rig)
  "Show only RIG's events in this feed buffer; with an empty RIG, show every rig."
  (interactive
   (list (completing-read "Rig (empty: all): "
                          (mapcar (lambda (r) (gastown-str (if (stringp r) r (plist-get r :name))))
                                  (gastown-result-items
                                   (gastown-request 'rig/list nil gastown-buffer-town) :rigs :items)))))
  (if (or (null rig) (string-empty-p rig))
      (setq gastown-feed-rig nil gastown-feed--rig-prefix nil)
    (let ((info (cl-find rig (gastown-result-items
                              (gastown-request 'rig/list nil gastown-buffer-town) :rigs :items)
                         :key (lambda (r) (gastown-str (if (stringp r) r (plist-get r :name))))
                         :test #'equal)))
      (setq gastown-feed-rig rig
            gastown-feed--rig-prefix (and (listp info) (gastown-str (plist-get info :prefix))))))
  (gastown-feed-redraw))

(defun gastown-feed--on-notification (town method params)
  "Append feed event PARAMS (METHOD) to TOWN's feed buffers."
  (when (eq method '$/gastown/event)
    (dolist (buf (gastown-buffers-of 'gastown-feed-mode town))
      (with-current-buffer buf
        (gastown-feed--append (list (or (plist-get params :event) params)))))))

(add-hook 'gastown-notification-functions #'gastown-feed--on-notification)

;;;###autoload
(defun gastown-feed (&optional town)
  "Show the live activity feed of TOWN."
  (interactive (list (gastown-current-town current-prefix-arg)))
  (let* ((town (or town (gastown-current-town)))
         (buf (gastown-buffer "feed" town)))
    (gastown-conn town)
    (with-current-buffer buf
      (unless (derived-mode-p 'gastown-feed-mode)
        (gastown-feed-mode)
        (setq gastown-buffer-town town)
        (gastown-feed--load-history town)
        (gastown-feed-redraw)))
    (when (called-interactively-p 'any)
      (pop-to-buffer buf))
    buf))

(provide 'gastown-beads)

;;; gastown-beads.el ends here
